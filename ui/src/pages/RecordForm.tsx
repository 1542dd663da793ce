import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { Alert, App, Breadcrumb, Button, Card, Col, Descriptions, Popconfirm, Row, Space, Typography } from 'antd';
import { DeleteOutlined, ReloadOutlined, SaveOutlined } from '@ant-design/icons';
import type RJSFCore from '@rjsf/core';
import type { ErrorSchema } from '@rjsf/utils';
import { api, enc, ifMatch, isApiError, newIdempotencyKey, request } from '../api/client.ts';
import type { ProblemError, RecordDoc } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { usePublishedDefinition } from '../objects.tsx';
import { editableData, formatDateTime, formatValue, mergePatch, properties, titleField } from '../lib/definition.ts';
import { problemText, toErrorSchema } from '../lib/problem.ts';
import { SchemaForm } from '../components/SchemaForm.tsx';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

type Notice =
  | { kind: 'validation'; detail?: string; rest: ProblemError[] }
  | { kind: 'conflict' }
  | { kind: 'error'; title: string; detail?: string };

/** dropErrors removes the server errors of the fields that changed, so a fixed field stops looking wrong. */
function dropErrors(errors: ErrorSchema | undefined, before: Record<string, unknown>, after: Record<string, unknown>): ErrorSchema | undefined {
  if (!errors) return errors;
  const e = errors as Record<string, unknown>;
  let changed = false;
  const next: Record<string, unknown> = { ...e };
  for (const k of Object.keys(e)) {
    if (k === '__errors') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      delete next[k];
      changed = true;
    }
  }
  return changed ? (next as ErrorSchema) : errors;
}

export default function RecordFormPage() {
  const { object = '', id } = useParams();
  const isNew = !id;
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  // A page that sent the rep here to complete a record (the pipeline board after a refused
  // move) passes where to return and the server's errors to show under the fields.
  const from = useLocation().state as { back?: string; errors?: ProblemError[] } | null;
  const back = typeof from?.back === 'string' && from.back.startsWith('/') ? from.back : undefined;
  const { def, summary, error: defError } = usePublishedDefinition(object);

  const [record, setRecord] = useState<RecordDoc | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [formData, setFormData] = useState<Record<string, unknown>>({});
  const [extraErrors, setExtraErrors] = useState<ErrorSchema | undefined>();
  const [notice, setNotice] = useState<Notice | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<RJSFCore>(null);
  const dataRef = useRef<Record<string, unknown>>({});
  // One Idempotency-Key per submission attempt; an attempt whose answer never arrived
  // (network error, 5xx) is retried with the same key and body, so it cannot create twice.
  const attempt = useRef<{ key: string; body: string; retryable: boolean } | null>(null);

  const listUrl = back ?? `/records/${enc(object)}`;
  const objLabel = (def && loc(def.label, lang)) || loc(summary?.label, lang) || object;

  const loadRecord = useCallback(async () => {
    if (!id) return;
    setLoadError(null);
    try {
      const rec = await api.get<RecordDoc>(`records/${enc(object)}/${enc(id)}`);
      setRecord(rec);
      dataRef.current = rec.data ?? {};
      setFormData(rec.data ?? {});
      setExtraErrors(undefined);
      setNotice(null);
    } catch (e) {
      setLoadError(e);
    }
  }, [object, id]);

  // The errors handed over by the page that sent us here are shown once, on the record as first loaded.
  const handedOver = useRef(false);
  useEffect(() => {
    if (handedOver.current || !def || !record || !from?.errors?.length) return;
    handedOver.current = true;
    setExtraErrors(toErrorSchema(from.errors, new Set(Object.keys(properties(def)))).schema);
  }, [def, record, from]);

  useEffect(() => {
    setRecord(null);
    setNotice(null);
    setExtraErrors(undefined);
    dataRef.current = {};
    setFormData({});
    if (id) void loadRecord();
  }, [object, id, loadRecord]);

  const onChange = (data: Record<string, unknown>) => {
    setExtraErrors((errs) => dropErrors(errs, dataRef.current, data));
    dataRef.current = data;
    setFormData(data);
  };

  const fail = (e: unknown) => {
    if (!def) return;
    if (isApiError(e) && (e.status === 422 || e.status === 400) && e.problem.errors?.length) {
      const { schema, rest } = toErrorSchema(e.problem.errors, new Set(Object.keys(properties(def))));
      setExtraErrors(schema);
      setNotice({ kind: 'validation', detail: e.problem.detail, rest });
      // Bring the first field the server complained about into view, as RJSF does for its own errors.
      const first = Object.keys(schema)[0];
      if (first) {
        requestAnimationFrame(() => {
          const el = document.getElementById(`root_${first}`);
          el?.scrollIntoView({ block: 'center', behavior: 'smooth' });
          el?.focus({ preventScroll: true });
        });
      }
      return;
    }
    if (isApiError(e) && (e.status === 409 || e.status === 412) && !isNew) {
      setNotice({ kind: 'conflict' });
      return;
    }
    const title = isApiError(e) && e.status === 409 ? t('records.duplicate') : isApiError(e) && e.status === 422 ? t('records.validationFailed') : problemText(e, t);
    setNotice({ kind: 'error', title, detail: isApiError(e) && e.status === 409 ? e.problem.detail : undefined });
  };

  const onSubmit = async (data: Record<string, unknown>) => {
    if (!def || busy) return;
    const payload = editableData(def, data);
    setBusy(true);
    setNotice(null);
    try {
      if (isNew) {
        const body = JSON.stringify(payload);
        const prev = attempt.current;
        const key = prev && prev.retryable && prev.body === body ? prev.key : newIdempotencyKey();
        attempt.current = { key, body, retryable: false };
        try {
          const rec = await api.post<RecordDoc>(`records/${enc(object)}`, payload, { headers: { 'Idempotency-Key': key } });
          message.success(t('records.created', { object: objLabel }));
          navigate(listUrl, { state: { highlight: rec?.id } });
        } catch (e) {
          if (isApiError(e) && (e.status === 0 || e.status >= 500)) attempt.current.retryable = true;
          throw e;
        }
      } else if (record) {
        const patch = mergePatch(editableData(def, record.data), payload);
        if (Object.keys(patch).length === 0) {
          message.info(t('records.noChanges'));
          return;
        }
        const res = await request<RecordDoc>('PATCH', `records/${enc(object)}/${enc(record.id)}`, { body: patch, headers: ifMatch(record.version) });
        const rec = res.data;
        if (rec && typeof rec === 'object' && rec.data) {
          setRecord(rec);
          dataRef.current = rec.data;
          setFormData(rec.data);
        } else {
          await loadRecord();
        }
        setExtraErrors(undefined);
        message.success(t('records.saved'));
        if (back) navigate(back);
      }
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };

  const onDelete = async () => {
    if (!record) return;
    try {
      await api.del(`records/${enc(object)}/${enc(record.id)}`, { headers: ifMatch(record.version) });
      message.success(t('records.deleted'));
      navigate(listUrl, { replace: true });
    } catch (e) {
      fail(e);
    }
  };

  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 's') {
        ev.preventDefault();
        formRef.current?.submit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  if (defError) return <LoadError error={defError} />;
  if (loadError) return <LoadError error={loadError} onRetry={() => void loadRecord()} />;
  if (!def || (!isNew && !record)) return <FullPageSpin />;

  const tf = titleField(def);
  const recTitle = record && tf ? formatValue(def, tf, record.data?.[tf], lang, t) : '';
  const heading = isNew ? t('records.newTitle', { object: objLabel }) : recTitle || t('records.editTitle', { object: objLabel });

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to={listUrl}>{objLabel}</Link> }, { title: isNew ? t('common.new') : recTitle || t('common.edit') }]} />
      <div className="page-header">
        <h1>{heading}</h1>
      </div>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={record ? 16 : 24} xl={record ? 16 : 18}>
          <Card>
            {notice?.kind === 'validation' && (
              <Alert
                type="error"
                showIcon
                style={{ marginBottom: 16 }}
                title={t('records.validationFailed')}
                data-testid="form-alert"
                description={
                  <>
                    {notice.detail && <div>{notice.detail}</div>}
                    {notice.rest.length > 0 && (
                      <ul style={{ margin: '4px 0 0', paddingInlineStart: 18 }}>
                        {notice.rest.map((e, i) => (
                          <li key={i}>
                            {e.pointer && <code>{e.pointer}</code>} {e.message}
                          </li>
                        ))}
                      </ul>
                    )}
                  </>
                }
              />
            )}
            {notice?.kind === 'conflict' && (
              <Alert
                type="warning"
                showIcon
                style={{ marginBottom: 16 }}
                title={t('records.conflictTitle')}
                description={t('records.conflictBody')}
                data-testid="form-alert"
                action={
                  <Button size="small" icon={<ReloadOutlined />} onClick={() => void loadRecord()}>
                    {t('common.reload')}
                  </Button>
                }
              />
            )}
            {notice?.kind === 'error' && <Alert type="error" showIcon style={{ marginBottom: 16 }} title={notice.title} description={notice.detail} data-testid="form-alert" />}

            <div style={{ maxWidth: 720 }}>
              <SchemaForm ref={formRef} def={def} mode={isNew ? 'create' : 'edit'} formData={formData} extraErrors={extraErrors} disabled={busy} onChange={onChange} onSubmit={(d) => void onSubmit(d)} />
            </div>
            <div className="form-actions">
              <Button type="primary" icon={<SaveOutlined />} loading={busy} onClick={() => formRef.current?.submit()} data-testid="save">
                {t('common.save')}
              </Button>
              <Button onClick={() => navigate(listUrl)}>{t('common.cancel')}</Button>
            </div>
          </Card>
        </Col>
        {record && (
          <Col xs={24} lg={8} xl={8}>
            <Card title={t('records.details')} size="small">
              <Descriptions
                column={1}
                size="small"
                items={[
                  { key: 'id', label: t('records.id'), children: <Typography.Text copyable={{ text: record.id }}>{record.id}</Typography.Text> },
                  { key: 'v', label: t('records.version'), children: `v${record.version}` },
                  ...(record.objectVersion ? [{ key: 'ov', label: t('records.objectVersion'), children: `v${record.objectVersion}` }] : []),
                  ...(record.owner ? [{ key: 'owner', label: t('records.owner'), children: record.owner }] : []),
                  { key: 'c', label: t('records.createdAt'), children: formatDateTime(record.createdAt) },
                  { key: 'u', label: t('records.updatedAt'), children: formatDateTime(record.updatedAt) },
                ]}
              />
              <Space style={{ marginTop: 8 }}>
                <Popconfirm title={t('records.deleteConfirm', { object: objLabel })} description={t('records.deleteHint')} okButtonProps={{ danger: true }} okText={t('common.delete')} onConfirm={() => onDelete()}>
                  <Button danger icon={<DeleteOutlined />}>
                    {t('common.delete')}
                  </Button>
                </Popconfirm>
              </Space>
            </Card>
          </Col>
        )}
      </Row>
    </div>
  );
}
