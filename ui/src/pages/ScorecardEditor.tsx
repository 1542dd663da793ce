// Scorecard editor (/admin/scorecards/:key): the definition as JSON, saved as a draft (PUT
// /scorecards/{key} with If-Match; a 422 lists its pointers — unsorted grades, unknown
// metrics, formula type errors …) and published; side tabs list the formula items and preview
// the items' weights and caps, the grades and the titles.
import { Link, useParams } from 'react-router';
import { Alert, Button, Descriptions, List, Space, Table, Tag, Typography } from 'antd';
import { TrophyOutlined } from '@ant-design/icons';
import { enc } from '../api/client.ts';
import type { ScorecardDefinition, ScorecardItemDef } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { ConfigEditor, useConfigDocument } from '../components/ConfigEditor.tsx';

const TOP_ORDER = ['key', 'label', 'description', 'grain', 'population', 'items', 'grades', 'fallbackGrade', 'recognition'];
const ITEM_ORDER = ['key', 'label', 'type', 'weight', 'cap', 'metric', 'level', 'object', 'field', 'userField', 'periodField', 'scale', 'formula'];

function ordered<T extends Record<string, unknown>>(o: T, order: string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in o) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
  return out as T;
}

function readable(def: ScorecardDefinition): ScorecardDefinition {
  if (!def || typeof def !== 'object') return def;
  const top = ordered(def, TOP_ORDER);
  if (Array.isArray(top.items)) top.items = top.items.map((i) => (i && typeof i === 'object' ? ordered(i as unknown as Record<string, unknown>, ITEM_ORDER) : i)) as unknown as ScorecardItemDef[];
  return top;
}

function Preview({ def }: { def: ScorecardDefinition }) {
  const { t, lang } = useI18n();
  const items = Array.isArray(def.items) ? def.items.filter((i) => i && typeof i === 'object') : [];
  const total = items.reduce((s, i) => s + (typeof i.weight === 'number' ? i.weight : 0), 0);
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Table<ScorecardItemDef>
        size="small"
        rowKey={(i, n) => `${i.key}#${n}`}
        pagination={false}
        dataSource={items}
        scroll={{ x: 'max-content' }}
        columns={[
          { key: 'item', title: t('leaderboard.item'), render: (_: unknown, i) => loc(i.label, lang) ?? i.key },
          { key: 'type', title: t('scorecards.type'), render: (_: unknown, i) => <Tag>{i.type ? t(`scorecards.type.${i.type}`) : '?'}</Tag> },
          { key: 'w', title: t('scorecards.weight'), align: 'right', render: (_: unknown, i) => (total > 0 && typeof i.weight === 'number' ? `${i.weight} (${((i.weight / total) * 100).toFixed(0)}%)` : '—') },
          { key: 'cap', title: t('scorecards.cap'), align: 'right', render: (_: unknown, i) => i.cap ?? 100 },
          { key: 'src', title: '', render: (_: unknown, i) => <Typography.Text code>{i.metric ?? (i.object ? `${i.object}.${i.field}` : (i.formula ?? ''))}</Typography.Text> },
        ]}
      />
      <Descriptions size="small" column={1} bordered>
        <Descriptions.Item label={t('scorecards.grades')}>
          <Space wrap>
            {(def.grades ?? []).map((g) => (
              <Tag key={g.grade}>
                {g.grade} ≥ {g.min}
              </Tag>
            ))}
            {def.fallbackGrade && <Tag>{def.fallbackGrade}</Tag>}
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label={t('scorecards.recognition')}>
          <Space wrap>
            {(def.recognition ?? []).map((r) => (
              <Tag key={r.key} color="gold" icon={<TrophyOutlined />}>
                {loc(r.title, lang) ?? r.key} · {t('scorecards.top', { top: r.top })}
                {typeof r.minScore === 'number' && ` ${t('scorecards.minScore', { min: r.minScore })}`}
              </Tag>
            ))}
          </Space>
        </Descriptions.Item>
      </Descriptions>
    </Space>
  );
}

export default function ScorecardEditorPage() {
  const { key = '' } = useParams();
  const { t } = useI18n();
  const doc = useConfigDocument<ScorecardDefinition>({ kind: 'scorecards', key, readable, conflictTitle: t('scorecards.conflict') });
  const { def } = doc;
  const formulas = Array.isArray(def?.items) ? def.items.filter((i) => i && i.type === 'expr') : [];

  return (
    <ConfigEditor
      doc={doc}
      list={{ to: '/admin/scorecards', title: t('scorecards.title') }}
      testId="scorecard"
      publishHint={t('scorecards.publishHint')}
      actions={(env) =>
        (env.publishedVersion ?? 0) > 0 && (
          <Link to={`/leaderboard?scorecard=${enc(key)}`}>
            <Button icon={<TrophyOutlined />}>{t('scorecards.leaderboard')}</Button>
          </Link>
        )
      }
      editorTitle={t('scorecards.definition')}
      editorExtra={Array.isArray(def?.items) && <Typography.Text type="secondary">{t('scorecards.itemCount', { count: def.items.length })}</Typography.Text>}
      jsonTestId="scorecard-json"
      formulas={{
        count: formulas.length,
        check: (
          <Space direction="vertical" style={{ width: '100%' }}>
            <Alert type="info" showIcon title={t('scorecards.formulasHint')} />
            {formulas.length === 0 ? (
              <Typography.Text type="secondary">{t('scorecards.noFormulas')}</Typography.Text>
            ) : (
              <List size="small" dataSource={formulas} renderItem={(i) => <List.Item><Typography.Text code>{i.key}</Typography.Text> <span className="formula-code">{i.formula}</span></List.Item>} />
            )}
          </Space>
        ),
      }}
      tabs={[{ key: 'preview', label: t('scorecards.preview'), children: def ? <Preview def={def} /> : <Alert type="warning" title={t('editor.jsonInvalid')} /> }]}
    />
  );
}
