// Breakdown explains one member's score: each item's score (capped, or left out of the
// weighting with the reason), its share of the total, and what it was computed from —
// actual and target, the average rating, or the values a formula read — then the weighting.
import { Space, Table, Tag, Tooltip, Typography } from 'antd';
import type { ScorecardItemInfo, ScorecardItemScore, ScorecardRow } from '../../api/types.ts';
import { loc, useI18n } from '../../i18n/index.tsx';
import { formatMeasure, formatScore, pct } from './format.ts';

export function Breakdown({ row, items }: { row: ScorecardRow; items: ScorecardItemInfo[] }) {
  const { t, lang } = useI18n();
  if (!row.detail || !row.items) return <Typography.Text type="secondary">{t('leaderboard.hidden')}</Typography.Text>;
  const info = new Map(items.map((i) => [i.key, i]));
  const basis = (s: ScorecardItemScore) => {
    const i = info.get(s.key);
    if (s.type === 'attainment' && (s.actual !== undefined || s.target !== undefined))
      return t('leaderboard.actualTarget', { actual: formatMeasure(s.actual, i?.unit, i?.scale), target: formatMeasure(s.target, i?.unit, i?.scale), pct: pct(s.attainment) });
    if (s.type === 'rating' && s.rating !== undefined) return t('leaderboard.ratingOf', { rating: formatScore(s.rating), count: s.ratings ?? 0 });
    if (s.type === 'expr' && s.inputs)
      return (
        <Tooltip title={i?.formula}>
          <span className="formula-code">{Object.entries(s.inputs).map(([k, v]) => `${k} = ${formatScore(v)}`).join(', ')}</span>
        </Tooltip>
      );
    return null;
  };
  return (
    <div data-testid={`breakdown-${row.user.id}`}>
      <Table<ScorecardItemScore>
        size="small"
        rowKey="key"
        pagination={false}
        dataSource={row.items}
        scroll={{ x: 'max-content' }}
        columns={[
          {
            key: 'item',
            title: t('leaderboard.item'),
            render: (_: unknown, s) => (
              <Space size={4} wrap>
                {loc(info.get(s.key)?.label, lang) ?? s.key}
                <Tag>{t(`scorecards.type.${s.type}`)}</Tag>
              </Space>
            ),
          },
          {
            key: 'score',
            title: t('leaderboard.itemScore'),
            align: 'right',
            render: (_: unknown, s) =>
              s.score === null ? (
                <Typography.Text type="secondary" data-testid={`item-${s.key}-reason`}>
                  {s.reason ? t(`leaderboard.reason.${s.reason}`) : '—'}
                </Typography.Text>
              ) : (
                <Space size={4} data-testid={`item-${s.key}-score`} data-score={s.score}>
                  <Typography.Text strong>{formatScore(s.score)}</Typography.Text>
                  {s.capped && <Tag color="gold">{t('leaderboard.capped')} {formatScore(s.raw)}</Tag>}
                </Space>
              ),
          },
          { key: 'share', title: t('leaderboard.share'), align: 'right', render: (_: unknown, s) => (s.share === null ? '—' : pct(s.share)) },
          { key: 'basis', title: t('leaderboard.inputs'), render: (_: unknown, s) => basis(s) },
        ]}
      />
      {row.explain && (
        <Typography.Paragraph type="secondary" style={{ margin: '8px 0 0' }} data-testid="breakdown-explain">
          {t('leaderboard.total')}：<span className="formula-code">{row.explain}</span>
        </Typography.Paragraph>
      )}
    </div>
  );
}
