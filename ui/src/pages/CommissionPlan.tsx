// 提成方案编辑 (/commission/plans/:key?tab=rules|json|versions): a plan's working copy edited as a
// structured form (rules, tables as rows, caps, SPIFs, bonuses, clawback) or as JSON; every edit is
// checked by the server shortly after typing stops (POST /commission-plans/{key}/check: formulas
// type-checked, tables, fields, metric) and the errors show at their fields; 保存草稿 is a PUT with
// If-Match (a 422's pointers land at the same fields), 发布 makes the next version; 版本 lists them.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { Alert, App, Badge, Breadcrumb, Button, Card, Popconfirm, Space, Spin, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { CheckCircleFilled, CloudUploadOutlined, ExperimentOutlined, LoadingOutlined, PlayCircleOutlined, SaveOutlined, UndoOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../api/client.ts';
import type { CommissionPlanCheck, CommissionPlanDefinition, ConfigEnvelope, ConfigSummary, ConfigVersionInfo, ProblemError } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatDateTime } from '../lib/definition.ts';
import { parseJSON } from '../lib/json.ts';
import { problemText } from '../lib/problem.ts';
import { isPublished, useObjects } from '../objects.tsx';
import { ObjectStatusTags } from '../components/ObjectStatusTags.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';
import { LoadError } from '../components/PageState.tsx';
import { JsonEditor, SaveProblemAlert, type JsonEditorHandle, type SaveProblem } from '../components/JsonEditor.tsx';
import { PlanForm, fieldId, type Path } from '../components/commission/PlanForm.tsx';
import { txt } from '../components/commission/common.tsx';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);
const ORDER = ['name', 'description', 'currency', 'grain', 'quotaGrain', 'quota', 'assign', 'effectiveFrom', 'effectiveTo', 'credits', 'rules', 'caps', 'spifs', 'quotaBonuses', 'teamBonuses', 'clawback'];

function readable(def: CommissionPlanDefinition): CommissionPlanDefinition {
  const out: Record<string, unknown> = {};
  const src = def as unknown as Record<string, unknown>;
  for (const k of ORDER) if (k in src) out[k] = src[k];
  for (const k of Object.keys(src)) if (!(k in out)) out[k] = src[k];
  return out as unknown as CommissionPlanDefinition;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const KEEP = new Set(['quota', 'credits', 'name']);

/** setIn returns def with the value at path replaced (undefined deletes; '__remove', i and '__move', i, ±1 edit arrays). */
export function setIn(def: unknown, path: Path, value: unknown): unknown {
  const magic = path.findIndex((p) => p === '__remove' || p === '__move');
  if (magic >= 0) {
    const arrPath = path.slice(0, magic);
    const i = Number(path[magic + 1]);
    let arr = [...((arrPath.reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k as string], def) as unknown[]) ?? [])];
    if (path[magic] === '__remove') arr.splice(i, 1);
    else {
      const j = i + Number(value);
      if (j < 0 || j >= arr.length) return def;
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    if (arr.length === 0) arr = undefined as unknown as unknown[];
    return setIn(def, arrPath, arr);
  }
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(def)) {
    const copy = [...def];
    copy[head as number] = setIn(copy[head as number], rest, value);
    return copy;
  }
  const obj: Record<string, unknown> = isObj(def) ? { ...def } : {};
  const next = setIn(obj[head as string], rest, value);
  if (next === undefined || (isObj(next) && Object.keys(next).length === 0 && !KEEP.has(String(head)))) delete obj[head as string];
  else obj[head as string] = next;
  return obj;
}

export default function CommissionPlanPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const { objects } = useObjects();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') || 'rules';
  const [env, setEnv] = useState<ConfigEnvelope<CommissionPlanDefinition> | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [def, setDef] = useState<CommissionPlanDefinition | null>(null);
  const [saved, setSaved] = useState('');
  const [text, setText] = useState('');
  const [check, setCheck] = useState<{ errors: ProblemError[]; for: string } | null>(null);
  const [checking, setChecking] = useState(false);
  const [problem, setProblem] = useState<SaveProblem | null>(null);
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState(false);
  const [metrics, setMetrics] = useState<ConfigSummary[]>([]);
  const [versions, setVersions] = useState<ConfigVersionInfo[] | null>(null);
  const jsonRef = useRef<JsonEditorHandle>(null);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const e = await api.get<ConfigEnvelope<CommissionPlanDefinition>>(`commission-plans/${enc(key)}`);
      const d = readable(e.definition);
      setEnv(e);
      setDef(d);
      setSaved(JSON.stringify(d));
      setText(pretty(d));
      setProblem(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [key]);
  useEffect(() => {
    void load();
    api
      .get<{ items: ConfigSummary[] }>('metrics')
      .then((r) => setMetrics(r.items.filter((m) => (m.publishedVersion ?? 0) > 0)))
      .catch(() => setMetrics([]));
  }, [load]);

  const sig = useMemo(() => (def ? JSON.stringify(def) : ''), [def]);
  const dirty = !!def && sig !== saved;

  // The live check: the whole definition, 500 ms after the last edit.
  useEffect(() => {
    if (!def) return;
    setChecking(true);
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const r = await api.post<CommissionPlanCheck>(`commission-plans/${enc(key)}/check`, def, { signal: ctrl.signal });
        setCheck({ errors: r.errors ?? [], for: sig });
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') return;
        setCheck({ errors: isApiError(e) ? (e.problem.errors ?? [{ message: problemText(e, t) }]) : [{ message: problemText(e, t) }], for: sig });
      }
      if (!ctrl.signal.aborted) setChecking(false);
    }, 500);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
    // sig stands for def.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sig, key]);

  useEffect(() => {
    if (tab !== 'versions') return;
    api
      .get<{ items: ConfigVersionInfo[] }>(`commission-plans/${enc(key)}/versions`)
      .then((r) => setVersions(r.items))
      .catch(() => setVersions([]));
  }, [tab, key, env?.publishedVersion]);

  const errors = useMemo(() => {
    const out: ProblemError[] = [...(check?.errors ?? [])];
    for (const e of problem?.errors ?? []) if (!out.some((x) => x.pointer === e.pointer && x.message === e.message)) out.push(e);
    return out;
  }, [check, problem]);
  const errs = useCallback((ptr: string) => errors.filter((e) => e.pointer === ptr), [errors]);

  const edit = (path: Path, value: unknown) => {
    setDef((d) => {
      const next = setIn(d, path, value) as CommissionPlanDefinition;
      setText(pretty(next));
      return next;
    });
  };
  const editText = (s: string) => {
    setText(s);
    const p = parseJSON(s);
    if (!p.error && isObj(p.value)) setDef(p.value as unknown as CommissionPlanDefinition);
  };
  const parsed = useMemo(() => parseJSON(text), [text]);

  const save = async () => {
    if (!def || saving) return;
    setSaving(true);
    setProblem(null);
    try {
      const r = await request<ConfigEnvelope<CommissionPlanDefinition>>('PUT', `commission-plans/${enc(key)}`, { body: def, headers: env ? ifMatch(env.version) : undefined });
      setEnv(r.data);
      setSaved(JSON.stringify(def));
      message.success(t('editor.saved'));
    } catch (e) {
      if (isApiError(e) && (e.status === 409 || e.status === 412)) setProblem({ title: t('comm.plan.conflict'), detail: e.problem.detail, errors: [], conflict: true });
      else setProblem({ title: t('editor.saveFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setSaving(false);
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

  const publish = async () => {
    setPublishing(true);
    setProblem(null);
    try {
      await api.post(`commission-plans/${enc(key)}/publish`);
      const fresh = await api.get<ConfigEnvelope<CommissionPlanDefinition>>(`commission-plans/${enc(key)}`);
      setEnv(fresh);
      message.success(t('editor.published', { version: fresh.publishedVersion ?? fresh.version }));
    } catch (e) {
      setProblem({ title: t('editor.publishFailed'), detail: problemText(e, t), errors: isApiError(e) ? (e.problem.errors ?? []) : [] });
    } finally {
      setPublishing(false);
    }
  };

  const jump = (ptr?: string) => {
    if (!ptr) return;
    if (tab === 'json') {
      jsonRef.current?.jumpToPointer(ptr);
      return;
    }
    // The deepest field on the page the pointer falls in.
    let p = ptr;
    while (p) {
      const el = document.getElementById(fieldId(p));
      if (el) {
        el.scrollIntoView({ behavior: 'smooth', block: 'center' });
        return;
      }
      p = p.slice(0, p.lastIndexOf('/'));
    }
  };

  if (loadError) return <LoadError error={loadError} onRetry={() => void load()} />;
  if (!env || !def) return <FullPageSpin />;

  const label = txt(def.name, lang, key);
  const checkedNow = check?.for === sig && !checking;
  const canPublish = !dirty && env.status !== 'published' && checkedNow && errors.length === 0;
  const liveErrors = check?.errors ?? [];

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to="/commission/plans">{t('comm.plans.title')}</Link> }, { title: label }]} />
      <div className="page-header">
        <Space wrap size={8} align="center">
          <h1>{label}</h1>
          <Typography.Text code>{key}</Typography.Text>
          <ObjectStatusTags status={env.status} version={env.version} publishedVersion={env.publishedVersion} />
          {dirty && <Badge status="processing" text={t('editor.dirty')} />}
        </Space>
        <Space wrap>
          {(env.publishedVersion ?? 0) > 0 && (
            <Link to={`/commission/simulate?plan=${enc(key)}`}>
              <Button icon={<ExperimentOutlined />}>{t('comm.plans.simulate')}</Button>
            </Link>
          )}
          {(env.publishedVersion ?? 0) > 0 && (
            <Link to={`/commission/run?plan=${enc(key)}`}>
              <Button icon={<PlayCircleOutlined />}>{t('comm.plans.run')}</Button>
            </Link>
          )}
          <Popconfirm title={t('editor.revertConfirm')} onConfirm={() => { const d = JSON.parse(saved); setDef(d); setText(pretty(d)); }} disabled={!dirty}>
            <Button icon={<UndoOutlined />} disabled={!dirty}>
              {t('editor.revert')}
            </Button>
          </Popconfirm>
          <Tooltip title={t('editor.shortcut')}>
            <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} disabled={!dirty && env.status === 'published'} data-testid="save-commission-plan">
              {t('editor.saveDraft')}
            </Button>
          </Tooltip>
          <Popconfirm title={t('editor.publishConfirm')} description={t('comm.plan.publishHint')} onConfirm={() => publish()} disabled={!canPublish}>
            <Tooltip title={dirty ? t('editor.saveFirst') : errors.length ? t('comm.plan.fixFirst') : undefined}>
              <Button icon={<CloudUploadOutlined />} loading={publishing} disabled={!canPublish} data-testid="publish-commission-plan">
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
      {problem && <SaveProblemAlert problem={problem} onClose={() => setProblem(null)} onReload={() => void load()} onPointer={jump} />}
      <Card size="small" style={{ marginBottom: 12 }} data-testid="plan-check">
        <Space wrap>
          {checking || !checkedNow ? (
            <Space>
              <Spin indicator={<LoadingOutlined spin />} size="small" />
              <Typography.Text type="secondary">{t('comm.plan.checking')}</Typography.Text>
            </Space>
          ) : liveErrors.length === 0 ? (
            <Typography.Text type="success" data-testid="plan-check-ok">
              <CheckCircleFilled /> {t('comm.plan.checkOk')}
            </Typography.Text>
          ) : (
            <Typography.Text type="danger" data-testid="plan-check-errors">
              {t('comm.plan.checkErrors', { count: liveErrors.length })}
            </Typography.Text>
          )}
          {checkedNow &&
            liveErrors.slice(0, 8).map((e, i) => (
              <Tag key={i} color="red" style={{ cursor: 'pointer' }} onClick={() => jump(e.pointer)}>
                <code>{e.pointer || '/'}</code> {e.message.length > 60 ? `${e.message.slice(0, 60)}…` : e.message}
              </Tag>
            ))}
        </Space>
      </Card>
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k }, { replace: true })}
        items={[
          {
            key: 'rules',
            label: t('comm.plan.tabRules'),
            children: <PlanForm def={def} set={edit} errs={errs} objects={objects.filter(isPublished)} metrics={metrics} />,
          },
          {
            key: 'json',
            label: 'JSON',
            children: (
              <Card size="small">
                <JsonEditor ref={jsonRef} value={text} onChange={editText} error={parsed.error} testId="commission-plan-json" />
                {parsed.error && <Alert type="warning" showIcon style={{ marginTop: 8 }} title={t('comm.plan.jsonInvalid')} />}
              </Card>
            ),
          },
          {
            key: 'versions',
            label: t('comm.plan.tabVersions'),
            children: (
              <Card size="small" styles={{ body: { padding: 0 } }}>
                <Table<ConfigVersionInfo>
                  rowKey="version"
                  size="small"
                  loading={versions === null}
                  dataSource={[...(versions ?? [])].sort((a, b) => b.version - a.version)}
                  pagination={false}
                  locale={{ emptyText: t('comm.plan.noVersions') }}
                  columns={[
                    { key: 'v', title: t('comm.plan.version'), render: (_: unknown, v) => <Tag color={v.version === env.publishedVersion ? 'green' : undefined}>v{v.version}</Tag> },
                    { key: 'at', title: t('comm.plan.publishedAt'), render: (_: unknown, v) => formatDateTime(v.publishedAt) },
                    { key: 'by', title: t('comm.plan.publishedBy'), dataIndex: 'publishedBy' },
                  ]}
                />
              </Card>
            ),
          },
        ]}
      />
    </div>
  );
}
