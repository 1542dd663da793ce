// Podium shows the first three places (2nd, 1st, 3rd from the left) with score, grade and titles.
import { Card, Col, Row, Space, Tag, Typography } from 'antd';
import { CrownOutlined, TrophyOutlined } from '@ant-design/icons';
import type { ScorecardResults, ScorecardRow } from '../../api/types.ts';
import { loc, useI18n } from '../../i18n/index.tsx';
import { formatScore, gradeColor } from './format.ts';

const MEDALS = ['#f5b301', '#a7b1c2', '#c97b3a'];

export function Podium({ rows, sc }: { rows: ScorecardRow[]; sc: ScorecardResults['scorecard'] }) {
  const { t, lang } = useI18n();
  const top = rows.filter((r) => r.rank !== null && r.rank <= 3).slice(0, 3);
  if (top.length === 0) return null;
  const order = top.length === 3 ? [top[1], top[0], top[2]] : top;
  return (
    <Row gutter={12} align="bottom" style={{ marginBottom: 16 }} data-testid="podium" aria-label={t('leaderboard.podium')}>
      {order.map((r) => {
        const place = (r.rank ?? 3) - 1;
        return (
          <Col key={r.user.id} span={8}>
            <Card size="small" style={{ textAlign: 'center', borderTop: `4px solid ${MEDALS[place] ?? MEDALS[2]}`, paddingTop: place === 0 ? 16 : 0 }}>
              {place === 0 ? <CrownOutlined style={{ fontSize: 28, color: MEDALS[0] }} /> : <TrophyOutlined style={{ fontSize: 22, color: MEDALS[place] }} />}
              <Typography.Title level={5} style={{ margin: '4px 0' }}>
                {r.user.name}
              </Typography.Title>
              <Typography.Text style={{ fontSize: 22, fontWeight: 600 }}>{formatScore(r.score)}</Typography.Text>
              <div style={{ marginTop: 4 }}>
                <Space size={4} wrap style={{ justifyContent: 'center' }}>
                  {r.grade && <Tag color={gradeColor(r.grade, sc.grades, sc.fallbackGrade)}>{r.grade}</Tag>}
                  {r.titles.map((x) => (
                    <Tag key={x.key} color="gold" icon={<TrophyOutlined />}>
                      {loc(x.title, lang) ?? x.key}
                    </Tag>
                  ))}
                </Space>
              </div>
            </Card>
          </Col>
        );
      })}
    </Row>
  );
}
