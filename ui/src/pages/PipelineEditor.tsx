// Pipeline editor (/admin/pipelines/:key): the definition as JSON, saved as a draft
// (PUT /pipelines/{key} with If-Match) and published (POST …/publish), with the 422 pointers
// listed and a live check of the match formula and every stage's enterIf guard.
import { useMemo } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, Button, Space, Table, Tag, Typography } from 'antd';
import { AppstoreOutlined } from '@ant-design/icons';
import { enc } from '../api/client.ts';
import type { PipelineDefinition, StageDef } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { PipelineCheck, collectPipelineFormulas } from '../components/PipelineCheck.tsx';
import { ConfigEditor, useConfigDocument } from '../components/ConfigEditor.tsx';

const TOP_ORDER = ['key', 'label', 'object', 'stageField', 'match', 'allowBackward', 'stages'];
const STAGE_ORDER = ['key', 'label', 'probability', 'slaDays', 'requiredFields', 'enterIf', 'terminal'];

function ordered<T extends Record<string, unknown>>(o: T, order: string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in o) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
  return out as T;
}

/** readablePipeline orders keys as the docs write them (the server sends them sorted), so the JSON reads top-down. */
function readablePipeline(def: PipelineDefinition): PipelineDefinition {
  if (!def || typeof def !== 'object') return def;
  const top = ordered(def, TOP_ORDER);
  if (Array.isArray(top.stages)) top.stages = top.stages.map((s) => (s && typeof s === 'object' ? ordered(s, STAGE_ORDER) : s));
  return top;
}

/** StagesPreview shows the stages of the JSON being edited as a table, to read the flow at a glance. */
function StagesPreview({ def }: { def: PipelineDefinition | undefined }) {
  const { t, lang } = useI18n();
  const stages = Array.isArray(def?.stages) ? def.stages.filter((s): s is StageDef => !!s && typeof s === 'object') : [];
  return (
    <Table<StageDef>
      size="small"
      rowKey={(s, i) => `${s.key ?? ''}#${i}`}
      dataSource={stages}
      pagination={false}
      scroll={{ x: 'max-content' }}
      columns={[
        {
          key: 'stage',
          title: t('funnel.stage'),
          render: (_: unknown, s) => (
            <Space size={4}>
              {loc(s.label, lang) ?? s.key}
              <Typography.Text type="secondary" code>
                {String(s.key ?? '')}
              </Typography.Text>
              {s.terminal === 'won' && <Tag color="green">{t('board.terminalWon')}</Tag>}
              {s.terminal === 'lost' && <Tag color="red">{t('board.terminalLost')}</Tag>}
            </Space>
          ),
        },
        { key: 'p', title: t('pipelineEditor.probability'), align: 'right', render: (_: unknown, s) => (typeof s.probability === 'number' ? `${s.probability}%` : '—') },
        { key: 'sla', title: 'SLA', align: 'right', render: (_: unknown, s) => (typeof s.slaDays === 'number' ? t('board.days', { days: s.slaDays }) : '—') },
        { key: 'req', title: t('pipelineEditor.requiredFields'), render: (_: unknown, s) => (Array.isArray(s.requiredFields) ? s.requiredFields.join(', ') : '') },
        { key: 'guard', title: t('pipelineEditor.kind.enterIf'), render: (_: unknown, s) => (s.enterIf?.expression ? <span className="formula-code">{s.enterIf.expression}</span> : '') },
      ]}
    />
  );
}

export default function PipelineEditorPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const doc = useConfigDocument<PipelineDefinition>({ kind: 'pipelines', key, readable: readablePipeline, conflictTitle: t('pipelineEditor.conflict') });
  const { def, parsed, jumpToPointer } = doc;
  const formulaCount = useMemo(() => collectPipelineFormulas(def, lang).length, [def, lang]);

  return (
    <ConfigEditor
      doc={doc}
      list={{ to: '/admin/pipelines', title: t('pipelines.title') }}
      testId="pipeline"
      publishHint={t('pipelineEditor.publishHint')}
      actions={(env) =>
        (env.publishedVersion ?? 0) > 0 && (
          <Link to={`/pipelines/${enc(key)}/board`}>
            <Button icon={<AppstoreOutlined />}>{t('board.title')}</Button>
          </Link>
        )
      }
      editorTitle={t('pipelineEditor.definition')}
      editorExtra={Array.isArray(def?.stages) && <Typography.Text type="secondary">{t('pipelineEditor.stageCount', { count: def.stages.length })}</Typography.Text>}
      jsonTestId="pipeline-json"
      formulas={{ count: formulaCount, check: <PipelineCheck def={def} jsonValid={!parsed.error} onJump={jumpToPointer} /> }}
      tabs={[
        {
          key: 'stages',
          label: t('pipelineEditor.stages'),
          children: def ? <StagesPreview def={def} /> : <Alert type="warning" title={t('editor.jsonInvalid')} />,
        },
      ]}
    />
  );
}
