// 排行榜: a published scorecard's leaderboard for a period and a scope (GET
// /scorecards/{key}/results): a podium of the first three on wide screens, then every member
// with rank, score bar, grade and titles; a row expands into its breakdown. Admins and
// managers award a closed period's titles (POST …/awards). Scorecard, period and node live in
// the URL.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, App, Button, Card, Empty, Grid, Popconfirm, Progress, Select, Space, Spin, Table, Tag, Tooltip, Typography } from 'antd';
import { LeftOutlined, ReloadOutlined, RightOutlined, TrophyOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { ConfigSummary, ScorecardResults, ScorecardRow } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useAuth } from '../auth.tsx';
import { formatDateTime } from '../lib/definition.ts';
import { periodKind, periodRange, shiftPeriod } from '../lib/period.ts';
import { problemText } from '../lib/problem.ts';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';
import { Breakdown } from '../components/scorecard/Breakdown.tsx';
import { Podium } from '../components/scorecard/Podium.tsx';
import { formatScore, gradeColor } from '../components/scorecard/format.ts';

/** Team is a row of GET /teams (the scopes offered). */
interface Team {
  id: string;
  name: string;
  parentId?: string;
}

export default function LeaderboardPage() {
  const { t, lang } = useI18n();
  const { me, isAdmin } = useAuth();
  const { message } = App.useApp();
  const screens = Grid.useBreakpoint();
  const wide = !!screens.md;
  const [params, setParams] = useSearchParams();
  const [cards, setCards] = useState<ConfigSummary[] | null>(null);
  const [teams, setTeams] = useState<Team[]>([]);
  const [data, setData] = useState<ScorecardResults | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [awarding, setAwarding] = useState(false);

  const published = useMemo(() => (cards ?? []).filter((c) => (c.publishedVersion ?? 0) > 0), [cards]);
  const key = params.get('scorecard') || published[0]?.key || '';
  const period = params.get('period') || undefined;
  const node = params.get('node') || undefined;
  const canAward = isAdmin || !!me?.roles?.includes('manager');

  const set = (next: Record<string, string | undefined>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(next)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p, { replace: true });
  };

  useEffect(() => {
    api
      .get<{ items: ConfigSummary[] }>('scorecards')
      .then((r) => setCards(r.items))
      .catch((e) => setError(e));
    api
      .get<{ items: Team[] }>('teams')
      .then((r) => setTeams(r.items))
      .catch(() => setTeams([]));
  }, []);

  const load = useCallback(async () => {
    if (!key) return;
    setLoading(true);
    setError(null);
    try {
      setData(await api.get<ScorecardResults>(`scorecards/${enc(key)}/results`, { query: { period, node } }));
    } catch (e) {
      setError(e);
      setData(null);
    } finally {
      setLoading(false);
    }
  }, [key, period, node]);

  useEffect(() => {
    void load();
  }, [load]);

  const award = async () => {
    if (!data) return;
    setAwarding(true);
    try {
      const res = await api.post<{ created: boolean; award: { winners: unknown[] } }>(`scorecards/${enc(key)}/awards`, { period: data.period.key });
      message.success(res.created ? t('leaderboard.awardDone', { count: res.award.winners.length }) : t('leaderboard.awardExists'));
      await load();
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setAwarding(false);
    }
  };

  if (cards === null && !error) return <FullPageSpin />;
  if (cards !== null && published.length === 0)
    return (
      <div>
        <div className="page-header">
          <h1>{t('leaderboard.title')}</h1>
        </div>
        <Card>
          <Empty description={t('leaderboard.noScorecards')} />
        </Card>
      </div>
    );

  const sc = data?.scorecard;
  const maxScore = Math.max(100, ...(sc?.items.map((i) => i.cap) ?? [100]));
  const curPeriod = data?.period.key ?? period;
  const shiftable = !!curPeriod && !!periodKind(curPeriod);
  const nodeValue = node ?? (data ? (data.node.kind === 'company' ? 'company' : `${data.node.kind}:${data.node.id}`) : undefined);
  const nodeOptions = [
    ...(isAdmin ? [{ value: 'company', label: t('leaderboard.company') }] : []),
    ...teams.map((tm) => ({ value: `team:${tm.id}`, label: tm.name })),
    ...(data && data.node.kind === 'user' ? [{ value: `user:${data.node.id}`, label: data.node.name }] : []),
  ];

  const titleTags = (r: ScorecardRow) =>
    r.titles.map((x) => (
      <Tag key={x.key} color="gold" icon={<TrophyOutlined />} data-testid={`title-${x.key}`}>
        {loc(x.title, lang) ?? x.key}
      </Tag>
    ));

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('leaderboard.title')}</h1>
          <Typography.Text type="secondary">{t('leaderboard.subtitle')}</Typography.Text>
        </div>
        <Space wrap>
          <Select
            style={{ minWidth: 180 }}
            value={key || undefined}
            aria-label={t('leaderboard.scorecard')}
            data-testid="lb-scorecard"
            options={published.map((c) => ({ value: c.key, label: loc(c.label, lang) ?? c.key }))}
            onChange={(v) => set({ scorecard: v, period: undefined })}
          />
          <Space.Compact>
            <Button icon={<LeftOutlined />} disabled={!shiftable} onClick={() => curPeriod && set({ period: shiftPeriod(curPeriod, -1) })} aria-label="previous" data-testid="lb-prev" />
            <Button style={{ minWidth: 96 }} data-testid="lb-period">
              {curPeriod ?? '—'}
            </Button>
            <Button icon={<RightOutlined />} disabled={!shiftable} onClick={() => curPeriod && set({ period: shiftPeriod(curPeriod, 1) })} aria-label="next" data-testid="lb-next" />
          </Space.Compact>
          <Select
            style={{ minWidth: 160 }}
            value={nodeValue}
            placeholder={t('leaderboard.myDefault')}
            aria-label={t('leaderboard.node')}
            data-testid="lb-node"
            options={nodeOptions}
            onChange={(v) => set({ node: v })}
          />
          <Button icon={<ReloadOutlined />} onClick={() => void load()} />
          {canAward && data && (
            <Popconfirm title={t('leaderboard.awardConfirm')} onConfirm={() => award()} disabled={!data.period.closed || !!data.awarded}>
              <Tooltip title={!data.period.closed ? t('leaderboard.periodOpen') : data.awarded ? t('leaderboard.awardExists') : undefined}>
                <Button icon={<TrophyOutlined />} loading={awarding} disabled={!data.period.closed || !!data.awarded || sc?.recognition.length === 0} data-testid="lb-award">
                  {t('leaderboard.award')}
                </Button>
              </Tooltip>
            </Popconfirm>
          )}
        </Space>
      </div>

      {error != null && (isApiError(error) && error.status < 500 ? <Alert type="error" showIcon title={problemText(error, t)} style={{ marginBottom: 16 }} /> : <LoadError error={error} onRetry={() => void load()} />)}

      {data && (
        <Spin spinning={loading}>
          <Space wrap style={{ marginBottom: 12 }}>
            <Typography.Text strong data-testid="lb-node-name">
              {data.node.kind === 'company' ? t('leaderboard.company') : data.node.name}
            </Typography.Text>
            <Typography.Text type="secondary">{periodRange(data.period.start, data.period.end)}</Typography.Text>
            {data.awarded ? (
              <Tag color="gold" icon={<TrophyOutlined />} data-testid="lb-awarded">
                {t('leaderboard.awarded', { at: formatDateTime(data.awarded.at) })}
              </Tag>
            ) : (
              sc && sc.recognition.length > 0 && <Typography.Text type="secondary">{t('leaderboard.provisional')}</Typography.Text>
            )}
          </Space>
          {wide && sc && <Podium rows={data.rows} sc={sc} />}
          <Card styles={{ body: { padding: 0 } }}>
            <Table<ScorecardRow>
              rowKey={(r) => r.user.id}
              dataSource={data.rows}
              pagination={data.rows.length > 50 ? { pageSize: 50, showSizeChanger: false } : false}
              size={wide ? 'middle' : 'small'}
              locale={{ emptyText: t('leaderboard.empty') }}
              data-testid="lb-table"
              onRow={(r) => ({ 'data-testid': `lb-row-${r.user.id}` }) as React.HTMLAttributes<HTMLElement>}
              expandable={{ expandedRowRender: (r) => <Breakdown row={r} items={sc?.items ?? []} />, rowExpandable: () => true }}
              columns={[
                {
                  key: 'rank',
                  title: t('leaderboard.rank'),
                  width: 64,
                  render: (_: unknown, r) =>
                    r.rank === null ? (
                      <Typography.Text type="secondary">—</Typography.Text>
                    ) : (
                      <Tooltip title={r.overallRank && r.overallRank !== r.rank ? t('leaderboard.overallRank', { rank: r.overallRank }) : undefined}>
                        <span
                          data-testid="lb-rank"
                          style={{
                            display: 'inline-block', minWidth: 26, height: 26, lineHeight: '26px', textAlign: 'center', borderRadius: 13, fontWeight: 600,
                            background: ['#f5b301', '#a7b1c2', '#c97b3a'][r.rank - 1] ?? 'transparent', color: r.rank <= 3 ? '#fff' : undefined,
                          }}
                        >
                          {r.rank}
                        </span>
                      </Tooltip>
                    ),
                },
                {
                  key: 'name',
                  title: t('leaderboard.name'),
                  render: (_: unknown, r) => (
                    <Space direction="vertical" size={2}>
                      <Typography.Text strong>{r.user.name}</Typography.Text>
                      {!wide && r.titles.length > 0 && <Space size={2} wrap>{titleTags(r)}</Space>}
                    </Space>
                  ),
                },
                {
                  key: 'score',
                  title: t('leaderboard.score'),
                  width: wide ? 260 : 110,
                  render: (_: unknown, r) =>
                    r.score === null ? (
                      <Typography.Text type="secondary">{t('leaderboard.unranked')}</Typography.Text>
                    ) : (
                      <Space size={8} style={{ width: '100%' }} data-testid="lb-score" data-score={r.score}>
                        {wide && <Progress percent={Math.min(100, (r.score / maxScore) * 100)} showInfo={false} size="small" style={{ width: 140, margin: 0 }} />}
                        <Typography.Text strong>{formatScore(r.score)}</Typography.Text>
                      </Space>
                    ),
                },
                {
                  key: 'grade',
                  title: t('leaderboard.grade'),
                  width: 72,
                  render: (_: unknown, r) =>
                    r.grade ? (
                      <Tag color={gradeColor(r.grade, sc?.grades ?? [], sc?.fallbackGrade)} data-testid="lb-grade">
                        {r.grade}
                      </Tag>
                    ) : (
                      '—'
                    ),
                },
                ...(wide ? [{ key: 'titles', title: t('leaderboard.titles'), render: (_: unknown, r: ScorecardRow) => <Space size={4} wrap>{titleTags(r)}</Space> }] : []),
              ]}
            />
          </Card>
        </Spin>
      )}
    </div>
  );
}
