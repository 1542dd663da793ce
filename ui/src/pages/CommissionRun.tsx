// 提成结算 (/commission/run?plan=&period=&run=): an admin or finance picks a published plan and a
// period and starts a run (POST /commission-runs → a job); the job's progress is polled (GET
// /commission-runs/{id}) until it finishes, then its report is shown — counts, total, and the
// per-rep errors (missing_quota …) — with a link to the statements. The run id stays in the URL,
// so a reload keeps following it.
import { useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Alert, Button, Card, Descriptions, Form, Progress, Result, Select, Space, Table, Tag, Typography } from 'antd';
import { PlayCircleOutlined, UnorderedListOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { CommissionRepError, CommissionRun, ConfigSummary, Job } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatMoney } from '../lib/money.ts';
import { formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { PeriodPicker, defaultPeriod, planName, repErrorText, useCommissionRoles, usePlans } from '../components/commission/common.tsx';

/** subjectText turns a run's job subject ("commission_plan:std|2026-03") into "std · 2026-03". */
const subjectText = (s?: string) => (s ?? '').replace(/^[^:]*:/, '').replace('|', ' · ');

export default function CommissionRunPage() {
  const { t, lang } = useI18n();
  const [params, setParams] = useSearchParams();
  const [plans, setPlans] = useState<ConfigSummary[] | null>(null);
  const plan = params.get('plan') ?? '';
  const period = params.get('period') || defaultPeriod();
  const runId = params.get('run');
  const [run, setRun] = useState<CommissionRun | null>(null);
  const [startError, setStartError] = useState<{ text: string; fields: Record<string, string> } | null>(null);
  const [starting, setStarting] = useState(false);
  const [recent, setRecent] = useState<Job[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const defs = usePlans((plans ?? []).map((p) => p.key));
  const { admin } = useCommissionRoles();
  const [names, setNames] = useState<Record<string, string>>({});
  useEffect(() => {
    // Admins may list users: the report's reps by name.
    if (!admin) return;
    api
      .get<{ items: { id: string; displayName?: string; username: string }[] }>('users')
      .then((r) => setNames(Object.fromEntries(r.items.map((u) => [u.id, u.displayName || u.username]))))
      .catch(() => setNames({}));
  }, [admin]);

  const set = (patch: Record<string, string | null>) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) p.set(k, v);
      else p.delete(k);
    }
    setParams(p, { replace: true });
  };

  useEffect(() => {
    api
      .get<{ items: ConfigSummary[] }>('commission-plans')
      .then((r) => {
        const pub = r.items.filter((p) => (p.publishedVersion ?? 0) > 0);
        setPlans(pub);
        if (!params.get('plan') && pub.length) set({ plan: pub[0].key });
      })
      .catch(() => setPlans([]));
    api
      .get<{ items: Job[] }>('jobs', { query: { kind: 'commission_run' } })
      .then((r) => setRecent(r.items.slice(0, 10)))
      .catch(() => setRecent([]));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run?.status === 'done']);

  // Poll the run until it is done or failed.
  useEffect(() => {
    if (!runId) {
      setRun(null);
      return;
    }
    let live = true;
    const poll = async () => {
      try {
        const r = await api.get<CommissionRun>(`commission-runs/${enc(runId)}`);
        if (!live) return;
        setRun(r);
        if (r.status === 'queued' || r.status === 'running') timer.current = setTimeout(poll, 400);
      } catch (e) {
        if (live) setStartError({ text: problemText(e, t), fields: {} });
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer.current);
    };
  }, [runId, t]);

  const start = async () => {
    setStarting(true);
    setStartError(null);
    try {
      const j = await api.post<Job>('commission-runs', { plan, period });
      setRun(null);
      set({ run: j.id });
    } catch (e) {
      // The same plan × period already running: follow that job.
      if (isApiError(e) && e.status === 409 && typeof e.problem.job === 'string') {
        set({ run: e.problem.job });
        return;
      }
      const fields: Record<string, string> = {};
      if (isApiError(e)) for (const f of e.problem.errors ?? []) if (f.pointer) fields[f.pointer] = f.message;
      setStartError({ text: problemText(e, t), fields });
    } finally {
      setStarting(false);
    }
  };

  const report = run?.report ?? null;
  const busy = run && (run.status === 'queued' || run.status === 'running');
  const errors: CommissionRepError[] = report?.errors ?? [];

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('comm.run.title')}</h1>
          <Typography.Text type="secondary">{t('comm.run.subtitle')}</Typography.Text>
        </div>
      </div>
      <Card style={{ marginBottom: 16 }}>
        <Form layout="inline" onFinish={() => void start()} style={{ rowGap: 12 }}>
          <Form.Item label={t('comm.plan')} validateStatus={startError?.fields['/plan'] ? 'error' : undefined} help={startError?.fields['/plan']}>
            <Select
              style={{ minWidth: 220 }}
              value={plan || undefined}
              onChange={(v) => set({ plan: v })}
              loading={plans === null}
              placeholder={t('comm.pickPlan')}
              options={(plans ?? []).map((p) => ({ value: p.key, label: `${planName(defs, p.key, lang)} (v${p.publishedVersion})` }))}
              data-testid="run-plan"
              notFoundContent={t('comm.noPublishedPlans')}
            />
          </Form.Item>
          <Form.Item label={t('comm.period')} validateStatus={startError?.fields['/period'] ? 'error' : undefined} help={startError?.fields['/period']}>
            <PeriodPicker value={period} onChange={(p) => set({ period: p })} testId="run-period" />
          </Form.Item>
          <Form.Item>
            <Button type="primary" htmlType="submit" icon={<PlayCircleOutlined />} loading={starting || !!busy} disabled={!plan} data-testid="run-start">
              {t('comm.run.start')}
            </Button>
          </Form.Item>
        </Form>
        <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
          {t('comm.run.hint')}
        </Typography.Paragraph>
        {startError && <Alert type="error" showIcon style={{ marginTop: 12 }} title={startError.text} data-testid="run-error" />}
      </Card>

      {run && (
        <Card title={t('comm.run.job', { subject: subjectText(run.subject) })} data-testid="run-job" data-status={run.status}>
          <Progress percent={Math.round(run.percent ?? 0)} status={run.status === 'failed' ? 'exception' : run.status === 'done' ? 'success' : 'active'} data-testid="run-progress" />
          <Typography.Text type="secondary">
            {t(`comm.job.${run.status}`)} · {run.done}/{run.total}
            {run.finishedAt && ` · ${formatDateTime(run.finishedAt)}`}
          </Typography.Text>
          {run.status === 'failed' && <Alert type="error" showIcon style={{ marginTop: 12 }} title={run.error?.message ?? t('comm.job.failed')} description={run.error?.code} />}
          {report && run.status === 'done' && (
            <Space direction="vertical" size={16} style={{ width: '100%', marginTop: 16 }}>
              <Result
                status={errors.length ? 'warning' : 'success'}
                title={errors.length ? t('comm.run.doneWithErrors', { count: errors.length }) : t('comm.run.done')}
                subTitle={t('comm.run.summary', { reps: report.reps, written: report.written, unchanged: report.unchanged })}
                style={{ padding: 8 }}
                extra={
                  <Link to={`/commission/statements?period=${enc(report.period)}&plan=${enc(report.plan)}&status=all`} data-testid="run-statements">
                    <Button type="primary" icon={<UnorderedListOutlined />}>
                      {t('comm.run.viewStatements')}
                    </Button>
                  </Link>
                }
              />
              <Descriptions
                size="small"
                bordered
                column={{ xs: 1, sm: 2, md: 4 }}
                data-testid="run-report"
                items={[
                  { key: 'v', label: t('comm.run.version'), children: `v${report.version}` },
                  { key: 'reps', label: t('comm.run.reps'), children: report.reps },
                  { key: 'records', label: t('comm.run.records'), children: report.records },
                  { key: 'total', label: t('comm.total'), children: formatMoney(report.total) },
                  { key: 'written', label: t('comm.run.written'), children: report.written },
                  { key: 'unchanged', label: t('comm.run.unchanged'), children: report.unchanged },
                  { key: 'locked', label: t('comm.run.locked'), children: report.locked },
                  { key: 'adjusted', label: t('comm.run.adjusted'), children: report.adjusted },
                ]}
              />
              {errors.length > 0 && (
                <>
                  <Alert type="warning" showIcon title={t('comm.run.errorsTitle')} description={t('comm.run.errorsHint')} />
                  <Table<CommissionRepError>
                    size="small"
                    rowKey={(e) => `${e.rep}:${e.code}`}
                    pagination={false}
                    dataSource={errors}
                    scroll={{ x: 'max-content' }}
                    data-testid="run-errors"
                    columns={[
                      { key: 'rep', title: t('comm.rep'), dataIndex: 'rep', render: (v: string) => (names[v] ? <span>{names[v]} <Typography.Text type="secondary" code>{v}</Typography.Text></span> : <Typography.Text code>{v}</Typography.Text>) },
                      { key: 'code', title: t('comm.run.problem'), render: (_: unknown, e) => <Tag color="orange">{repErrorText(t, e.code)}</Tag> },
                      { key: 'msg', title: t('comm.run.detail'), dataIndex: 'message' },
                    ]}
                  />
                </>
              )}
            </Space>
          )}
        </Card>
      )}

      {recent.length > 0 && (
        <Card title={t('comm.run.recent')} size="small" style={{ marginTop: 16 }}>
          <Table<Job>
            size="small"
            rowKey="id"
            pagination={false}
            dataSource={recent}
            scroll={{ x: 'max-content' }}
            onRow={(j) => ({ onClick: () => set({ run: j.id }), className: 'row-clickable' }) as React.HTMLAttributes<HTMLElement>}
            columns={[
              { key: 'subject', title: t('comm.run.subject'), render: (_: unknown, j) => subjectText(j.subject) },
              { key: 'status', title: t('comm.statusLabel'), render: (_: unknown, j) => <Tag color={j.status === 'done' ? 'green' : j.status === 'failed' ? 'red' : 'blue'}>{t(`comm.job.${j.status}`)}</Tag> },
              { key: 'at', title: t('comm.run.startedAt'), render: (_: unknown, j) => formatDateTime(j.createdAt) },
            ]}
          />
        </Card>
      )}
    </div>
  );
}
