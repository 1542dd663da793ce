// Pipeline editor (/admin/pipelines/:key): the definition as JSON, saved as a draft
// (PUT /pipelines/{key} with If-Match) and published (POST …/publish), with the 422 pointers
// listed and a live check of the match formula and every stage's enterIf guard.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, App, Badge, Breadcrumb, Button, Card, Col, Grid, Popconfirm, Row, Space, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { AppstoreOutlined, CloudUploadOutlined, FormatPainterOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../api/client.ts';
import type { ConfigEnvelope, PipelineDefinition, StageDef } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { formatDateTime } from '../lib/definition.ts';
import { parseJSON } from '../lib/json.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { JsonEditor, SaveProblemAlert, type JsonEditorHandle, type SaveProblem } from '../components/JsonEditor.tsx';
import { PipelineCheck, collectPipelineFormulas } from '../components/PipelineCheck.tsx';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

type Envelope = ConfigEnvelope<PipelineDefinition>;

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

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
  const { message } = App.useApp();
  const { refresh } = useObjects();
  const screens = Grid.useBreakpoint();

  const [env, setEnv] = useState<Envelope | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [savedText, setSavedText] = useState('');
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [problem, setProblem] = useState<SaveProblem | null>(null);
  const [tab, setTab] = useState('formulas');
  const editorRef = useRef<JsonEditorHandle>(null);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const e = await api.get<Envelope>(`pipelines/${enc(key)}`);
      setEnv(e);
      const s = pretty(readablePipeline(e.definition));
      setText(s);
      setSavedText(s);
      setProblem(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [key]);

  useEffect(() => {
    setEnv(null);
    void load();
  }, [load]);

  const parsed = useMemo(() => parseJSON(text), [text]);
  const def = parsed.error || !parsed.value || typeof parsed.value !== 'object' ? undefined : (parsed.value as PipelineDefinition);
  const dirty = text !== savedText;
  const formulaCount = useMemo(() => collectPipelineFormulas(def, lang).length, [def, lang]);

  const save = async () => {
    if (saving) return;
    if (!def) {
      message.error(t('editor.jsonInvalid'));
      return;
    }
    setSaving(true);
    setProblem(null);
    try {
      const res = await request<Envelope>('PUT', `pipelines/${enc(key)}`, { body: def, headers: env ? ifMatch(env.version) : undefined });
      const saved = res.data;
      if (saved && typeof saved === 'object' && 'version' in saved && 'status' in saved) setEnv({ ...saved, definition: saved.definition ?? def });
      else setEnv(await api.get<Envelope>(`pipelines/${enc(key)}`));
      setSavedText(text);
      message.success(t('editor.saved'));
      void refresh();
    } catch (e) {
      if (isApiError(e) && (e.status === 409 || e.status === 412)) setProblem({ title: t('pipelineEditor.conflict'), detail: e.problem.detail, errors: [], conflict: true });
      else setProblem({ title: t('editor.saveFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setSaving(false);
    }
  };

  const publish = async () => {
    setPublishing(true);
    setProblem(null);
    try {
      await api.post(`pipelines/${enc(key)}/publish`);
      const fresh = await api.get<Envelope>(`pipelines/${enc(key)}`);
      setEnv(fresh);
      message.success(t('editor.published', { version: fresh.publishedVersion ?? fresh.version }));
      void refresh();
    } catch (e) {
      setProblem({ title: t('editor.publishFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setPublishing(false);
    }
  };

  const saveRef = useRef(save);
  saveRef.current = save;
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 's') {
        ev.preventDefault();
        void saveRef.current();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (loadError) return <LoadError error={loadError} onRetry={() => void load()} />;
  if (!env) return <FullPageSpin />;

  const label = loc(env.definition?.label, lang) ?? key;
  const canPublish = !dirty && env.status !== 'published';

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to="/admin/pipelines">{t('pipelines.title')}</Link> }, { title: label }]} />
      <div className="page-header">
        <Space wrap size={8} align="center">
          <h1>{label}</h1>
          <Typography.Text code>{key}</Typography.Text>
          <ObjectStatusTags status={env.status} version={env.version} publishedVersion={env.publishedVersion} />
          {dirty && <Badge status="processing" text={t('editor.dirty')} />}
        </Space>
        <Space wrap>
          {(env.publishedVersion ?? 0) > 0 && (
            <Link to={`/pipelines/${enc(key)}/board`}>
              <Button icon={<AppstoreOutlined />}>{t('board.title')}</Button>
            </Link>
          )}
          <Button icon={<FormatPainterOutlined />} disabled={!def} onClick={() => def && setText(pretty(def))}>
            {t('editor.format')}
          </Button>
          <Popconfirm title={t('editor.revertConfirm')} onConfirm={() => setText(savedText)} disabled={!dirty}>
            <Button icon={<UndoOutlined />} disabled={!dirty}>
              {t('editor.revert')}
            </Button>
          </Popconfirm>
          <Tooltip title={t('editor.shortcut')}>
            <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} disabled={!def} data-testid="save-pipeline">
              {t('editor.saveDraft')}
            </Button>
          </Tooltip>
          <Popconfirm title={t('editor.publishConfirm')} description={t('pipelineEditor.publishHint')} onConfirm={() => publish()} disabled={!canPublish}>
            <Tooltip title={dirty ? t('editor.saveFirst') : undefined}>
              <Button icon={<CloudUploadOutlined />} loading={publishing} disabled={!canPublish} data-testid="publish-pipeline">
                {t('editor.publish')}
              </Button>
            </Tooltip>
          </Popconfirm>
        </Space>
      </div>
      {env.updatedAt && (
        <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
          {t('objects.updatedAt')}：{formatDateTime(env.updatedAt)}
          {env.updatedBy && ` · ${t('objects.updatedBy')}：${env.updatedBy}`}
        </Typography.Paragraph>
      )}

      {problem && <SaveProblemAlert problem={problem} onClose={() => setProblem(null)} onReload={() => void load()} onPointer={(p) => editorRef.current?.jumpToPointer(p)} />}

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={13}>
          <Card title={t('pipelineEditor.definition')} size="small" extra={Array.isArray(def?.stages) && <Typography.Text type="secondary">{t('pipelineEditor.stageCount', { count: def.stages.length })}</Typography.Text>}>
            <JsonEditor ref={editorRef} value={text} onChange={setText} error={parsed.error} testId="pipeline-json" />
          </Card>
        </Col>
        <Col xs={24} xl={11}>
          <Card size="small" styles={{ body: { paddingTop: 0 } }} style={screens.xl ? { position: 'sticky', top: 80, maxHeight: 'calc(100vh - 96px)', overflow: 'auto' } : undefined}>
            <Tabs
              activeKey={tab}
              onChange={setTab}
              items={[
                {
                  key: 'formulas',
                  label: (
                    <span>
                      {t('editor.formulas')} <Badge count={formulaCount} showZero color="#2f54eb" size="small" />
                    </span>
                  ),
                  children: <PipelineCheck def={def} jsonValid={!parsed.error} onJump={(p) => editorRef.current?.jumpToPointer(p)} />,
                },
                {
                  key: 'stages',
                  label: t('pipelineEditor.stages'),
                  children: def ? <StagesPreview def={def} /> : <Alert type="warning" title={t('editor.jsonInvalid')} />,
                },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
