import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Alert, App, Badge, Breadcrumb, Button, Card, Col, Grid, Popconfirm, Row, Space, Spin, Tabs, Tooltip, Typography } from 'antd';
import { CloudUploadOutlined, FormatPainterOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../api/client.ts';
import type { ObjectDefinition, ObjectEnvelope } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { formatDateTime, readableDefinition } from '../lib/definition.ts';
import { parseJSON } from '../lib/json.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { FormulaCheck, collectFormulas } from '../components/FormulaCheck.tsx';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { JsonEditor, SaveProblemAlert, type JsonEditorHandle, type SaveProblem } from '../components/JsonEditor.tsx';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

const SchemaForm = lazy(() => import('../components/SchemaForm.tsx'));

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

function FormPreview({ def }: { def: ObjectDefinition }) {
  const { t } = useI18n();
  const [data, setData] = useState<Record<string, unknown>>({});
  return (
    <>
      <Typography.Paragraph type="secondary">{t('editor.previewHint')}</Typography.Paragraph>
      <ErrorBoundary resetKey={JSON.stringify(def)} fallback={(err) => <Alert type="warning" showIcon title={t('editor.previewInvalid')} description={err.message} />}>
        <Suspense fallback={<Spin />}>
          <SchemaForm def={def} mode="create" formData={data} onChange={setData} />
        </Suspense>
      </ErrorBoundary>
    </>
  );
}

export default function ObjectEditorPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const { refresh: refreshObjects } = useObjects();

  const [env, setEnv] = useState<ObjectEnvelope | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [savedText, setSavedText] = useState('');
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [problem, setProblem] = useState<SaveProblem | null>(null);
  const [tab, setTab] = useState('formulas');
  const editorRef = useRef<JsonEditorHandle>(null);
  const screens = Grid.useBreakpoint();

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const e = await api.get<ObjectEnvelope>(`objects/${enc(key)}`);
      setEnv(e);
      const s = pretty(readableDefinition(e.definition));
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
  const def = parsed.error || !parsed.value || typeof parsed.value !== 'object' ? undefined : (parsed.value as ObjectDefinition);
  const dirty = text !== savedText;
  const formulaCount = useMemo(() => collectFormulas(def).length, [def]);

  const save = async () => {
    if (saving) return;
    if (!def) {
      message.error(t('editor.jsonInvalid'));
      return;
    }
    setSaving(true);
    setProblem(null);
    try {
      const res = await request<ObjectEnvelope>('PUT', `objects/${enc(key)}`, { body: def, headers: env ? ifMatch(env.version) : undefined });
      const saved = res.data;
      if (saved && typeof saved === 'object' && 'version' in saved && 'status' in saved) setEnv({ ...saved, definition: saved.definition ?? def });
      else setEnv(await api.get<ObjectEnvelope>(`objects/${enc(key)}`));
      setSavedText(text);
      message.success(t('editor.saved'));
      void refreshObjects();
    } catch (e) {
      if (isApiError(e) && (e.status === 409 || e.status === 412)) setProblem({ title: t('editor.conflict'), detail: e.problem.detail, errors: [], conflict: true });
      else setProblem({ title: t('editor.saveFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setSaving(false);
    }
  };

  const publish = async () => {
    setPublishing(true);
    setProblem(null);
    try {
      await api.post(`objects/${enc(key)}/publish`);
      const fresh = await api.get<ObjectEnvelope>(`objects/${enc(key)}`);
      setEnv(fresh);
      message.success(t('editor.published', { version: fresh.publishedVersion ?? fresh.version }));
      void refreshObjects();
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
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to="/admin/objects">{t('objects.title')}</Link> }, { title: label }]} />
      <div className="page-header">
        <Space wrap size={8} align="center">
          <h1>{label}</h1>
          <Typography.Text code>{key}</Typography.Text>
          <ObjectStatusTags status={env.status} version={env.version} publishedVersion={env.publishedVersion} />
          {dirty && <Badge status="processing" text={t('editor.dirty')} />}
        </Space>
        <Space wrap>
          <Button icon={<FormatPainterOutlined />} disabled={!def} onClick={() => def && setText(pretty(def))}>
            {t('editor.format')}
          </Button>
          <Popconfirm title={t('editor.revertConfirm')} onConfirm={() => setText(savedText)} disabled={!dirty}>
            <Button icon={<UndoOutlined />} disabled={!dirty}>
              {t('editor.revert')}
            </Button>
          </Popconfirm>
          <Tooltip title={t('editor.shortcut')}>
            <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} disabled={!def} data-testid="save-object">
              {t('editor.saveDraft')}
            </Button>
          </Tooltip>
          <Popconfirm title={t('editor.publishConfirm')} description={t('editor.publishHint')} onConfirm={() => publish()} disabled={!canPublish}>
            <Tooltip title={dirty ? t('editor.saveFirst') : undefined}>
              <Button icon={<CloudUploadOutlined />} loading={publishing} disabled={!canPublish} data-testid="publish-object">
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
          <Card title={t('editor.definition')} size="small" extra={def?.schema?.properties && <Typography.Text type="secondary">{t('editor.fieldCount', { count: Object.keys(def.schema.properties).length })}</Typography.Text>}>
            <JsonEditor ref={editorRef} value={text} onChange={setText} error={parsed.error} testId="definition-json" />
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
                  children: <FormulaCheck def={def} jsonValid={!parsed.error} />,
                },
                {
                  key: 'preview',
                  label: t('editor.preview'),
                  children: def?.schema ? <FormPreview def={def} /> : <Alert type="warning" title={t('editor.previewInvalid')} />,
                },
              ]}
            />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
