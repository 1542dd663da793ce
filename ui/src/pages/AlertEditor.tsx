// Alert rule editor (/admin/alerts/:key): the definition as JSON (save as draft with If-Match,
// publish), a live formula check as you type (POST /alert-check: the condition, dedupe key and
// every {{placeholder}} of the title, message and link are type-checked with pointers, line and
// column), the variables the formulas see, an overview, and "立即运行" (POST /alerts/{key}/run).
import { useEffect, useState } from 'react';
import { App, Alert, Button, Descriptions, List, Space, Tag, Typography } from 'antd';
import { PlayCircleOutlined } from '@ant-design/icons';
import { useParams } from 'react-router';
import { api, enc } from '../api/client.ts';
import type { ProblemError } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { problemText } from '../lib/problem.ts';
import { ConfigEditor, useConfigDocument } from '../components/ConfigEditor.tsx';
import type { AlertCheckResult, AlertDefinition, AlertRunResult } from '../components/alerts/types.ts';

const ORDER = ['key', 'template', 'label', 'description', 'source', 'object', 'onChange', 'events', 'schedule', 'metric', 'grain', 'nodes', 'pipeline',
  'condition', 'title', 'message', 'link', 'severity', 'recipients', 'channels', 'dedupeKey', 'cooldownMinutes'];

function readable(def: AlertDefinition): AlertDefinition {
  if (!def || typeof def !== 'object') return def;
  const out: Record<string, unknown> = {};
  for (const k of ORDER) if (k in def) out[k] = (def as Record<string, unknown>)[k];
  for (const k of Object.keys(def)) if (!(k in out)) out[k] = (def as Record<string, unknown>)[k];
  return out as AlertDefinition;
}

const RECORD_VARS = ['<字段 fields>', 'id', 'owner', 'ownerName', 'stage', 'prevStage', 'daysInStage', 'stageSlaDays', 'hasSla', 'event', 'ownerAvg.<field>'];
const PROGRESS_VARS = ['node', 'nodeKind', 'nodeId', 'period', 'metric', 'hasTarget', 'target', 'actual', 'expected', 'forecast', 'gap', 'attainment', 'pacing', 'elapsed', 'stuckCount', 'stuckList'];

function useLiveCheck(def: AlertDefinition | undefined) {
  const [res, setRes] = useState<{ ok: boolean; errors: ProblemError[]; busy: boolean }>({ ok: true, errors: [], busy: false });
  const text = JSON.stringify(def ?? null);
  useEffect(() => {
    if (!def) return;
    setRes((r) => ({ ...r, busy: true }));
    const id = window.setTimeout(() => {
      api
        .post<AlertCheckResult>('alert-check', def)
        .then((r) => setRes({ ok: r.ok, errors: r.errors ?? [], busy: false }))
        .catch(() => setRes((r) => ({ ...r, busy: false })));
    }, 400);
    return () => window.clearTimeout(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);
  return res;
}

export default function AlertEditorPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const doc = useConfigDocument<AlertDefinition>({ kind: 'alerts', key, readable, conflictTitle: t('alerts.conflict') });
  const { def } = doc;
  const check = useLiveCheck(def);
  const [running, setRunning] = useState(false);

  const run = async () => {
    setRunning(true);
    try {
      const r = await api.post<AlertRunResult>(`alerts/${enc(key)}/run`);
      message.success(t('alerts.ran', { evaluated: r.evaluated, matched: r.matched, fired: r.fired }));
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setRunning(false);
    }
  };

  const vars = def?.source === 'progress' ? PROGRESS_VARS : RECORD_VARS;
  const formulaCount = [def?.condition, def?.dedupeKey].filter(Boolean).length + Object.keys(def?.title ?? {}).length + Object.keys(def?.message ?? {}).length;

  return (
    <ConfigEditor
      doc={doc}
      list={{ to: '/admin/alerts', title: t('alerts.title') }}
      testId="alert"
      publishHint={t('alerts.publishHint')}
      actions={(env) =>
        (env.publishedVersion ?? 0) > 0 && (
          <Button icon={<PlayCircleOutlined />} loading={running} onClick={() => void run()} data-testid="run-alert">
            {t('alerts.run')}
          </Button>
        )
      }
      editorTitle={t('alerts.definition')}
      jsonTestId="alert-json"
      formulas={{
        count: formulaCount,
        check: (
          <Space direction="vertical" style={{ width: '100%' }} data-testid="alert-check">
            {check.busy ? (
              <Typography.Text type="secondary">{t('alerts.checking')}</Typography.Text>
            ) : check.ok ? (
              <Alert type="success" showIcon title={t('alerts.checkOk')} data-testid="alert-check-ok" />
            ) : (
              <List
                size="small"
                dataSource={check.errors}
                renderItem={(e) => (
                  <List.Item data-testid="alert-check-error">
                    <Space direction="vertical" size={0}>
                      <Space wrap>
                        <Tag color="red">{e.code}</Tag>
                        <Typography.Link onClick={() => doc.jumpToPointer(e.pointer)} code>{e.pointer}</Typography.Link>
                        {e.line ? <Typography.Text type="secondary">{e.line}:{e.column}</Typography.Text> : null}
                      </Space>
                      <Typography.Text>{e.message}</Typography.Text>
                      {e.hint && <Typography.Text type="secondary">{e.hint}</Typography.Text>}
                      {e.snippet && <pre className="formula-code" style={{ margin: 0 }}>{e.snippet}</pre>}
                    </Space>
                  </List.Item>
                )}
              />
            )}
            <Typography.Text strong>{t('alerts.variables')}</Typography.Text>
            <Space wrap>{vars.map((v) => <Tag key={v} className="mono">{v}</Tag>)}</Space>
          </Space>
        ),
      }}
      tabs={[
        {
          key: 'preview',
          label: t('alerts.preview'),
          children: def ? (
            <Descriptions size="small" column={1} bordered>
              <Descriptions.Item label={t('alerts.source')}>{t(`alerts.source.${def.source ?? 'record'}`)} <Typography.Text code>{def.object ?? def.metric}</Typography.Text></Descriptions.Item>
              <Descriptions.Item label={t('alerts.trigger')}>
                <Space wrap>
                  {def.source !== 'progress' && def.onChange !== false && <Tag color="blue">{t('alerts.onChange')}</Tag>}
                  {def.schedule && <Tag>{t('alerts.schedule', { cron: def.schedule })}</Tag>}
                </Space>
              </Descriptions.Item>
              <Descriptions.Item label={t('alerts.severity')}>{t(`alerts.severity.${def.severity ?? 'warning'}`)}</Descriptions.Item>
              <Descriptions.Item label={t('alerts.recipients')}>
                <Space wrap>
                  {def.recipients?.owner && <Tag>{t('alerts.recipient.owner')}</Tag>}
                  {def.recipients?.managers && <Tag>{t('alerts.recipient.managers')}</Tag>}
                  {(def.recipients?.roles ?? []).map((r) => <Tag key={r}>{r}</Tag>)}
                </Space>
              </Descriptions.Item>
              <Descriptions.Item label={t('alerts.cooldown')}>{t('alerts.cooldownMinutes', { minutes: def.cooldownMinutes ?? 1440 })}</Descriptions.Item>
              <Descriptions.Item label={t('alerts.messageTitle')}>
                <Typography.Text strong>{loc(def.title, lang)}</Typography.Text>
                <div style={{ whiteSpace: 'pre-wrap' }}>{loc(def.message, lang)}</div>
              </Descriptions.Item>
            </Descriptions>
          ) : (
            <Alert type="warning" title={t('editor.jsonInvalid')} />
          ),
        },
      ]}
    />
  );
}
