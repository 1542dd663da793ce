// 提成审批 (/commission/statements?period=&plan=&status=): the statements of a period the viewer
// may see (a manager's subtree; finance and admins everything), with totals; open one in a
// drawer; approve drafts one by one or in bulk (after a confirmation naming the count and sum);
// finance marks approved ones paid. Locked statements show a lock. Export as CSV / XLSX.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { App, Button, Card, Segmented, Select, Space, Statistic, Table, Typography } from 'antd';
import { CheckOutlined, DollarOutlined, DownloadOutlined, ReloadOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, request } from '../api/client.ts';
import type { ConfigSummary, Statement, StatementStatus } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatMoney } from '../lib/money.ts';
import { problemText } from '../lib/problem.ts';
import { InlineError } from '../components/PageState.tsx';
import { StatementDrawer } from '../components/commission/StatementDrawer.tsx';
import { Money, PeriodPicker, StatementStatusTag, defaultPeriod, download, pct, planName, useCommissionRoles, usePlans } from '../components/commission/common.tsx';

type StatusFilter = StatementStatus | 'all';

export default function StatementsPage() {
  const { t, lang } = useI18n();
  const { message, modal } = App.useApp();
  const { canPay, me } = useCommissionRoles();
  const [params, setParams] = useSearchParams();
  const period = params.get('period') || defaultPeriod();
  const plan = params.get('plan') ?? '';
  const status = (params.get('status') as StatusFilter) || 'draft';
  const open = params.get('open');
  const [plans, setPlans] = useState<ConfigSummary[]>([]);
  const [items, setItems] = useState<Statement[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const defs = usePlans([...plans.map((p) => p.key), ...(items ?? []).map((s) => s.plan)]);

  const set = (patch: Record<string, string | null>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p, { replace: true });
  };

  useEffect(() => {
    api
      .get<{ items: ConfigSummary[] }>('commission-plans')
      .then((r) => setPlans(r.items))
      .catch(() => setPlans([]));
  }, []);

  const load = useCallback(
    async (cursor?: string) => {
      setError(null);
      try {
        const r = await api.get<{ items: Statement[]; next?: string | null }>('statements', {
          query: { period, plan: plan || undefined, status: status === 'all' ? undefined : status, limit: 200, cursor },
        });
        setItems((prev) => (cursor ? [...(prev ?? []), ...r.items] : r.items));
        setNext(r.next ?? null);
      } catch (e) {
        setError(e);
        setItems([]);
      }
    },
    [period, plan, status],
  );
  useEffect(() => {
    setItems(null);
    setSelected([]);
    void load();
  }, [load]);

  const rows = items ?? [];
  const totals = useMemo(() => {
    const by: Record<string, { n: number; sum: number }> = {};
    for (const s of rows) {
      const b = (by[s.status] ??= { n: 0, sum: 0 });
      b.n++;
      b.sum += s.total;
    }
    return { all: rows.reduce((s, x) => s + x.total, 0), by };
  }, [rows]);
  const chosen = rows.filter((s) => selected.includes(s.id));
  const canApproveRow = (s: Statement) => s.status === 'draft' && s.rep !== me?.id;
  const approvable = chosen.filter(canApproveRow);
  const payable = chosen.filter((s) => s.status === 'approved');

  const bulk = (action: 'approve' | 'pay', list: Statement[]) => {
    const sum = list.reduce((s, x) => s + x.total, 0);
    modal.confirm({
      title: t(action === 'approve' ? 'comm.bulkApproveTitle' : 'comm.bulkPayTitle', { count: list.length }),
      content: t('comm.bulkConfirm', { count: list.length, total: formatMoney(sum) }),
      okText: t(action === 'approve' ? 'comm.approve' : 'comm.pay'),
      cancelText: t('common.cancel'),
      okButtonProps: { 'data-testid': 'bulk-ok' } as Record<string, string>,
      onOk: async () => {
        setBusy(true);
        let ok = 0;
        const failed: string[] = [];
        for (const s of list) {
          try {
            await request('POST', `statements/${enc(s.id)}/${action}`, { body: {}, headers: ifMatch(s.version) });
            ok++;
          } catch (e) {
            failed.push(`${s.repName || s.rep}: ${problemText(e, t)}`);
          }
        }
        setBusy(false);
        if (ok) message.success(t(action === 'approve' ? 'comm.bulkApproved' : 'comm.bulkPaid', { count: ok }));
        if (failed.length) modal.error({ title: t('comm.bulkFailed', { count: failed.length }), content: <div style={{ whiteSpace: 'pre-line' }}>{failed.join('\n')}</div> });
        setSelected([]);
        void load();
      },
    });
  };

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('comm.approvals.title')}</h1>
          <Typography.Text type="secondary">{t('comm.approvals.subtitle')}</Typography.Text>
        </div>
        <Space wrap>
          {(['csv', 'xlsx'] as const).map((f) => (
            <Button
              key={f}
              icon={<DownloadOutlined />}
              onClick={() => download('statements/export', { format: f, period, plan: plan || undefined, status: status === 'all' ? undefined : status }, `statements.${f}`).catch((e) => message.error(String(e)))}
              data-testid={`export-${f}`}
            >
              {t('comm.export')} {f.toUpperCase()}
            </Button>
          ))}
        </Space>
      </div>
      <Card size="small" style={{ marginBottom: 12 }}>
        <Space wrap size={12}>
          <PeriodPicker value={period} onChange={(p) => set({ period: p })} />
          <Select
            style={{ minWidth: 180 }}
            value={plan}
            onChange={(v) => set({ plan: v })}
            options={[{ value: '', label: t('comm.allPlans') }, ...plans.map((p) => ({ value: p.key, label: planName(defs, p.key, lang) }))]}
            data-testid="plan-filter"
          />
          <Segmented<StatusFilter>
            value={status}
            onChange={(v) => set({ status: v })}
            options={(['draft', 'approved', 'paid', 'all'] as const).map((s) => ({ value: s, label: t(s === 'all' ? 'comm.all' : `comm.status.${s}`) }))}
          />
          <Button icon={<ReloadOutlined />} onClick={() => void load()} aria-label={t('common.reload')} />
        </Space>
      </Card>
      {error != null && <InlineError error={error} />}
      <Space wrap size={24} style={{ marginBottom: 12 }}>
        <Statistic title={t('comm.approvals.count')} value={rows.length} />
        <Statistic title={t('comm.approvals.sum')} value={formatMoney(totals.all)} />
        {(['draft', 'approved', 'paid'] as const).map((s) =>
          totals.by[s] ? <Statistic key={s} title={t(`comm.status.${s}`)} value={`${totals.by[s].n} · ${formatMoney(totals.by[s].sum)}`} valueStyle={{ fontSize: 16 }} /> : null,
        )}
      </Space>
      {selected.length > 0 && (
        <Card size="small" style={{ marginBottom: 12, background: '#f0f5ff' }}>
          <Space wrap>
            <Typography.Text>{t('comm.selected', { count: selected.length, total: formatMoney(chosen.reduce((s, x) => s + x.total, 0)) })}</Typography.Text>
            <Button type="primary" icon={<CheckOutlined />} disabled={!approvable.length} loading={busy} onClick={() => bulk('approve', approvable)} data-testid="bulk-approve">
              {t('comm.bulkApprove', { count: approvable.length })}
            </Button>
            {canPay && (
              <Button icon={<DollarOutlined />} disabled={!payable.length} loading={busy} onClick={() => bulk('pay', payable)} data-testid="bulk-pay">
                {t('comm.bulkPay', { count: payable.length })}
              </Button>
            )}
          </Space>
        </Card>
      )}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<Statement>
          rowKey="id"
          size="middle"
          loading={items === null}
          dataSource={rows}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('comm.approvals.empty') }}
          rowSelection={{ selectedRowKeys: selected, onChange: (ks) => setSelected(ks as string[]), getCheckboxProps: (s) => ({ disabled: s.status === 'paid' }) }}
          onRow={(s) => ({ onClick: () => set({ open: s.id }), className: 'row-clickable', 'data-testid': `statement-row-${s.rep}` }) as React.HTMLAttributes<HTMLElement>}
          columns={[
            { key: 'rep', title: t('comm.rep'), render: (_: unknown, s) => <Typography.Text strong>{s.repName || s.rep}</Typography.Text> },
            { key: 'plan', title: t('comm.plan'), render: (_: unknown, s) => planName(defs, s.plan, lang) },
            { key: 'period', title: t('comm.period'), dataIndex: 'period' },
            { key: 'status', title: t('comm.statusLabel'), render: (_: unknown, s) => <StatementStatusTag status={s.status} /> },
            { key: 'att', title: t('comm.attainment'), align: 'right', render: (_: unknown, s) => pct(s.attainment) },
            { key: 'lines', title: t('comm.lines'), align: 'right', render: (_: unknown, s) => s.lines?.length ?? 0 },
            { key: 'adj', title: t('comm.adjustments'), align: 'right', render: (_: unknown, s) => { const n = s.lines?.filter((l) => l.kind === 'adjustment').length ?? 0; return n ? n : '' } },
            { key: 'total', title: t('comm.total'), align: 'right', render: (_: unknown, s) => <Money fen={s.total} strong /> },
          ]}
          summary={() =>
            rows.length > 0 ? (
              <Table.Summary.Row>
                <Table.Summary.Cell index={0} colSpan={8}>
                  <Typography.Text strong>{t('comm.sum')}</Typography.Text>
                </Table.Summary.Cell>
                <Table.Summary.Cell index={1} align="right">
                  <Money fen={totals.all} strong />
                </Table.Summary.Cell>
              </Table.Summary.Row>
            ) : null
          }
        />
        {next && (
          <div style={{ textAlign: 'center', padding: 12 }}>
            <Button onClick={() => void load(next)}>{t('common.loadMore')}</Button>
          </div>
        )}
      </Card>
      <StatementDrawer id={open} onClose={() => set({ open: null })} onChanged={() => void load()} />
    </div>
  );
}
