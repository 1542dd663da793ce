// 历史: the published versions (GET …/history) and what changed between two of them
// (GET …/diff?from=&to=): definition paths and node amounts per level.
import { useCallback, useEffect, useState } from 'react';
import { Card, Empty, Select, Space, Spin, Table, Typography } from 'antd';
import dayjs from 'dayjs';
import { api, enc } from '../../api/client.ts';
import type { TargetDiff, TargetLevel, TargetVersion } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { MONEY, type Measure } from '../../lib/targets.ts';
import { Amount, ChangeTable, ProblemAlert } from './common.tsx';
import { LoadError } from '../PageState.tsx';

const show = (v: unknown) => (v === undefined || v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function HistoryTab({ plan, refresh, measure = MONEY }: { plan: string; refresh: number; measure?: Measure }) {
  const { t } = useI18n();
  const [items, setItems] = useState<TargetVersion[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [from, setFrom] = useState<number>();
  const [to, setTo] = useState<number>();
  const [diff, setDiff] = useState<{ data?: TargetDiff; error?: unknown; loading?: boolean }>({});

  const load = useCallback(() => {
    api.get<{ items: TargetVersion[] }>(`target-plans/${enc(plan)}/history`).then((r) => {
      const list = r.items ?? [];
      setItems(list);
      setError(null);
      if (list.length >= 2) {
        setFrom(list[list.length - 2].version);
        setTo(list[list.length - 1].version);
      }
    }, setError);
  }, [plan]);
  useEffect(load, [load, refresh]);

  useEffect(() => {
    if (!from || !to || from === to) {
      setDiff({});
      return;
    }
    let cancelled = false;
    setDiff({ loading: true });
    api.get<TargetDiff>(`target-plans/${enc(plan)}/diff`, { query: { from, to } }).then(
      (data) => !cancelled && setDiff({ data }),
      (e) => !cancelled && setDiff({ error: e }),
    );
    return () => {
      cancelled = true;
    };
  }, [plan, from, to]);

  if (error) return <LoadError error={error} onRetry={load} />;
  if (!items) return <Spin style={{ display: 'block', margin: '48px auto' }} />;
  const options = items.map((v) => ({ value: v.version, label: `v${v.version}` }));
  const levels = Object.keys(diff.data?.nodes ?? {}) as TargetLevel[];

  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Table<TargetVersion>
        data-testid="history"
        rowKey="version"
        size="middle"
        pagination={false}
        dataSource={[...items].reverse()}
        scroll={{ x: 640 }}
        locale={{ emptyText: t('targets.history.empty') }}
        onRow={(r) => ({ 'data-testid': `history-v${r.version}` }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          { title: t('targets.history.version'), key: 'v', render: (_, r) => <Typography.Text strong>v{r.version}</Typography.Text> },
          { title: t('targets.history.reason'), dataIndex: 'reason' },
          { title: t('targets.history.author'), dataIndex: 'author' },
          { title: t('targets.history.at'), key: 'at', render: (_, r) => dayjs(r.at).format('YYYY-MM-DD HH:mm') },
          { title: t('targets.history.total'), key: 'total', align: 'right', render: (_, r) => <Amount value={r.totals?.target} measure={measure} /> },
        ]}
      />
      {items.length >= 2 && (
        <Card
          size="small"
          title={t('targets.history.compare')}
          extra={
            <Space wrap>
              <Select value={from} onChange={setFrom} options={options} style={{ width: 90 }} aria-label={t('targets.history.from')} data-testid="diff-from" />
              →
              <Select value={to} onChange={setTo} options={options} style={{ width: 90 }} aria-label={t('targets.history.to')} data-testid="diff-to" />
            </Space>
          }
        >
          {diff.loading && <Spin />}
          {diff.error != null && <ProblemAlert error={diff.error} />}
          {diff.data && (
            <Space direction="vertical" size={12} style={{ width: '100%' }} data-testid="diff">
              {diff.data.definition.length === 0 && levels.every((l) => !diff.data?.nodes[l]?.length) && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('targets.history.noDiff')} />}
              {diff.data.definition.length > 0 && (
                <Table
                  size="small"
                  title={() => t('targets.history.definition')}
                  rowKey="path"
                  pagination={false}
                  dataSource={diff.data.definition}
                  scroll={{ x: 480 }}
                  columns={[
                    { title: t('targets.history.path'), dataIndex: 'path', render: (p: string) => <Typography.Text code>{p}</Typography.Text> },
                    { title: t('targets.old'), key: 'old', render: (_, r) => show(r.old) },
                    { title: t('targets.newAmount'), key: 'new', render: (_, r) => show(r.new) },
                  ]}
                />
              )}
              {levels.map((l) =>
                diff.data?.nodes[l]?.length ? (
                  <div key={l}>
                    <Typography.Text strong>
                      {t('targets.history.nodes')} · {t(`targets.level.${l}`)}
                    </Typography.Text>
                    <ChangeTable changes={diff.data.nodes[l] ?? []} measure={measure} />
                  </div>
                ) : null,
              )}
            </Space>
          )}
        </Card>
      )}
    </Space>
  );
}
