// The shared part of the configuration editors (object editor, pipeline editor): the definition
// as JSON text, loaded from GET /{kind}/{key}, saved as a draft (PUT with If-Match; 409/412 is a
// conflict, a 422 lists its pointers), published (POST …/publish), Ctrl+S to save; and the page
// around it (breadcrumb, header with status and buttons, the editor card and a side card of tabs).
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { App, Badge, Breadcrumb, Button, Card, Col, Grid, Popconfirm, Row, Space, Tabs, Tooltip, Typography, type TabsProps } from 'antd';
import { CloudUploadOutlined, FormatPainterOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../api/client.ts';
import type { ConfigEnvelope } from '../api/types.ts';
import { loc, useI18n, type Localized } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { formatDateTime } from '../lib/definition.ts';
import { parseJSON } from '../lib/json.ts';
import { problemText } from '../lib/problem.ts';
import { ObjectStatusTags } from './ObjectStatusTags.tsx';
import { JsonEditor, SaveProblemAlert, type JsonEditorHandle, type SaveProblem } from './JsonEditor.tsx';
import { LoadError } from './PageState.tsx';
import { FullPageSpin } from './FullPageSpin.tsx';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

interface ConfigDocumentOptions<D> {
  /** kind is the API collection: objects, pipelines or scorecards. */
  kind: 'objects' | 'pipelines' | 'scorecards' | 'alerts';
  key: string;
  /** readable reorders a loaded definition for reading (the server sends keys sorted). */
  readable: (def: D) => D;
  /** conflictTitle is the title of the problem shown on 409/412. */
  conflictTitle: string;
}

/** useConfigDocument holds one configuration document being edited and its save/publish lifecycle. */
export function useConfigDocument<D>({ kind, key, readable, conflictTitle }: ConfigDocumentOptions<D>) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { refresh } = useObjects();

  const [env, setEnv] = useState<ConfigEnvelope<D> | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [savedText, setSavedText] = useState('');
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [problem, setProblem] = useState<SaveProblem | null>(null);
  const editorRef = useRef<JsonEditorHandle>(null);
  const readableRef = useRef(readable);
  readableRef.current = readable;

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const e = await api.get<ConfigEnvelope<D>>(`${kind}/${enc(key)}`);
      setEnv(e);
      const s = pretty(readableRef.current(e.definition));
      setText(s);
      setSavedText(s);
      setProblem(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [kind, key]);

  useEffect(() => {
    setEnv(null);
    void load();
  }, [load]);

  const parsed = useMemo(() => parseJSON(text), [text]);
  const def = parsed.error || !parsed.value || typeof parsed.value !== 'object' ? undefined : (parsed.value as D);
  const dirty = text !== savedText;

  const save = async () => {
    if (saving) return;
    if (!def) {
      message.error(t('editor.jsonInvalid'));
      return;
    }
    setSaving(true);
    setProblem(null);
    try {
      const res = await request<ConfigEnvelope<D>>('PUT', `${kind}/${enc(key)}`, { body: def, headers: env ? ifMatch(env.version) : undefined });
      const saved = res.data;
      if (saved && typeof saved === 'object' && 'version' in saved && 'status' in saved) setEnv({ ...saved, definition: saved.definition ?? def });
      else setEnv(await api.get<ConfigEnvelope<D>>(`${kind}/${enc(key)}`));
      setSavedText(text);
      message.success(t('editor.saved'));
      void refresh();
    } catch (e) {
      if (isApiError(e) && (e.status === 409 || e.status === 412)) setProblem({ title: conflictTitle, detail: e.problem.detail, errors: [], conflict: true });
      else setProblem({ title: t('editor.saveFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setSaving(false);
    }
  };

  const publish = async () => {
    setPublishing(true);
    setProblem(null);
    try {
      await api.post(`${kind}/${enc(key)}/publish`);
      const fresh = await api.get<ConfigEnvelope<D>>(`${kind}/${enc(key)}`);
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

  const jumpToPointer = useCallback((p?: string) => editorRef.current?.jumpToPointer(p), []);

  return { key, env, loadError, load, text, setText, savedText, parsed, def, dirty, saving, publishing, save, publish, problem, setProblem, editorRef, jumpToPointer };
}

export type ConfigDocument<D> = ReturnType<typeof useConfigDocument<D>>;

interface ConfigEditorProps<D extends { label?: Localized }> {
  doc: ConfigDocument<D>;
  /** list is the breadcrumb's parent page. */
  list: { to: string; title: string };
  /** testId names the save and publish buttons: save-<testId>, publish-<testId>. */
  testId: string;
  publishHint: string;
  /** actions come before the format button (render only once the document has loaded). */
  actions?: (env: ConfigEnvelope<D>) => ReactNode;
  editorTitle: string;
  editorExtra?: ReactNode;
  jsonTestId: string;
  /** formulas is the first side tab, 公式检查: the check panel and how many formulas it checks. */
  formulas: { count: number; check: ReactNode };
  /** tabs come after the formulas tab. */
  tabs: NonNullable<TabsProps['items']>;
}

/** ConfigEditor is the page of a configuration document: header, JSON editor and side tabs. */
export function ConfigEditor<D extends { label?: Localized }>({ doc, list, testId, publishHint, actions, editorTitle, editorExtra, jsonTestId, formulas, tabs }: ConfigEditorProps<D>) {
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const [tab, setTab] = useState('formulas');
  const { key, env, loadError, load, text, setText, savedText, parsed, def, dirty, saving, publishing, save, publish, problem, setProblem, editorRef, jumpToPointer } = doc;

  if (loadError) return <LoadError error={loadError} onRetry={() => void load()} />;
  if (!env) return <FullPageSpin />;

  const label = loc(env.definition?.label, lang) ?? key;
  const canPublish = !dirty && env.status !== 'published';

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to={list.to}>{list.title}</Link> }, { title: label }]} />
      <div className="page-header">
        <Space wrap size={8} align="center">
          <h1>{label}</h1>
          <Typography.Text code>{key}</Typography.Text>
          <ObjectStatusTags status={env.status} version={env.version} publishedVersion={env.publishedVersion} />
          {dirty && <Badge status="processing" text={t('editor.dirty')} />}
        </Space>
        <Space wrap>
          {actions?.(env)}
          <Button icon={<FormatPainterOutlined />} disabled={!def} onClick={() => def && setText(pretty(def))}>
            {t('editor.format')}
          </Button>
          <Popconfirm title={t('editor.revertConfirm')} onConfirm={() => setText(savedText)} disabled={!dirty}>
            <Button icon={<UndoOutlined />} disabled={!dirty}>
              {t('editor.revert')}
            </Button>
          </Popconfirm>
          <Tooltip title={t('editor.shortcut')}>
            <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} disabled={!def} data-testid={`save-${testId}`}>
              {t('editor.saveDraft')}
            </Button>
          </Tooltip>
          <Popconfirm title={t('editor.publishConfirm')} description={publishHint} onConfirm={() => publish()} disabled={!canPublish}>
            <Tooltip title={dirty ? t('editor.saveFirst') : undefined}>
              <Button icon={<CloudUploadOutlined />} loading={publishing} disabled={!canPublish} data-testid={`publish-${testId}`}>
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

      {problem && <SaveProblemAlert problem={problem} onClose={() => setProblem(null)} onReload={() => void load()} onPointer={jumpToPointer} />}

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={13}>
          <Card title={editorTitle} size="small" extra={editorExtra}>
            <JsonEditor ref={editorRef} value={text} onChange={setText} error={parsed.error} testId={jsonTestId} />
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
                      {t('editor.formulas')} <Badge count={formulas.count} showZero color="#2f54eb" size="small" />
                    </span>
                  ),
                  children: formulas.check,
                },
                ...tabs,
              ]}
            />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
