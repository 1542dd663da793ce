// 申诉处理 (/commission/disputes?status=open): the disputes a manager (their subtree), finance or
// an admin may see; each row opens into the disputed line's explanation and the dispute's
// history; 处理 resolves it — accept with an adjustment amount (元, ≠ 0; a line in the same draft
// or the rep's next open period) or reject with a required reason.
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, App, Button, Card, Form, Grid, Input, Modal, Radio, Segmented, Space, Table, Timeline, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { api, enc, isApiError } from '../api/client.ts';
import type { Dispute, DisputeStatus, Statement } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import type { MsgKey } from '../i18n/messages.ts';
import { formatDateTime } from '../lib/definition.ts';
import { formatMoney, yuanStringToFen } from '../lib/money.ts';
import { problemText } from '../lib/problem.ts';
import { InlineError } from '../components/PageState.tsx';
import { DisputeStatusTag, LineExplain, Money, planName, ruleName, signedMoney, useCommissionRoles, usePlans } from '../components/commission/common.tsx';

type Filter = DisputeStatus | 'all';

export default function CommissionDisputesPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const { me } = useCommissionRoles();
  const screens = Grid.useBreakpoint();
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') as Filter) || 'open';
  const [items, setItems] = useState<Dispute[] | null>(null);
  const [stmts, setStmts] = useState<Record<string, Statement | null>>({});
  const [error, setError] = useState<unknown>(null);
  const [resolving, setResolving] = useState<Dispute | null>(null);
  const [decision, setDecision] = useState<'accept' | 'reject'>('accept');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const [formErr, setFormErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const plans = usePlans((items ?? []).map((d) => d.plan));

  const load = useCallback(async () => {
    setError(null);
    try {
      const r = await api.get<{ items: Dispute[] }>('disputes', { query: { status: status === 'all' ? undefined : status } });
      setItems(r.items);
      // The disputed statements: the rep's name and the line's explanation.
      const ids = [...new Set(r.items.map((d) => d.statement))].slice(0, 50);
      const got: Record<string, Statement | null> = {};
      await Promise.all(
        ids.map(async (id) => {
          try {
            got[id] = await api.get<Statement>(`statements/${enc(id)}`);
          } catch {
            got[id] = null;
          }
        }),
      );
      setStmts(got);
    } catch (e) {
      setError(e);
      setItems([]);
    }
  }, [status]);
  useEffect(() => {
    setItems(null);
    void load();
  }, [load]);

  const openResolve = (d: Dispute) => {
    setResolving(d);
    setDecision('accept');
    setAmount('');
    setReason('');
    setFieldErr({});
    setFormErr(null);
  };

  const resolve = async () => {
    if (!resolving) return;
    const fe: Record<string, string> = {};
    let fen: number | undefined;
    if (decision === 'accept') {
      fen = yuanStringToFen(amount);
      if (fen === undefined || Number.isNaN(fen) || fen === 0) fe['/amount'] = t('comm.resolve.amountInvalid');
    } else if (!reason.trim()) fe['/reason'] = t('comm.resolve.reasonRequired');
    setFieldErr(fe);
    if (Object.keys(fe).length) return;
    setBusy(true);
    setFormErr(null);
    try {
      await api.post(`disputes/${enc(resolving.id)}/resolve`, decision === 'accept' ? { decision, amount: fen, reason: reason.trim() || undefined } : { decision, reason: reason.trim() });
      message.success(t(decision === 'accept' ? 'comm.resolve.accepted' : 'comm.resolve.rejected'));
      setResolving(null);
      void load();
    } catch (e) {
      const errs: Record<string, string> = {};
      if (isApiError(e)) for (const x of e.problem.errors ?? []) if (x.pointer) errs[x.pointer] = x.message;
      setFieldErr(errs);
      setFormErr(problemText(e, t));
    } finally {
      setBusy(false);
    }
  };

  const lineOf = (d: Dispute) => stmts[d.statement]?.lines?.find((l) => l.id === d.line);
  const nameOf = (d: Dispute) => stmts[d.statement]?.repName || d.rep;

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('comm.disputes.title')}</h1>
          <Typography.Text type="secondary">{t('comm.disputes.subtitle')}</Typography.Text>
        </div>
        <Space>
          <Segmented<Filter> value={status} onChange={(v) => setParams({ status: v }, { replace: true })} options={(['open', 'accepted', 'rejected', 'all'] as const).map((s) => ({ value: s, label: t(s === 'all' ? 'comm.all' : `comm.dispute.${s}`) }))} />
          <Button icon={<ReloadOutlined />} onClick={() => void load()} aria-label={t('common.reload')} />
        </Space>
      </div>
      {error != null && <InlineError error={error} />}
      <Card styles={{ body: { padding: 0 } }}>
        <Table<Dispute>
          rowKey="id"
          loading={items === null}
          dataSource={items ?? []}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{ emptyText: t('comm.disputes.empty') }}
          onRow={(d) => ({ 'data-testid': `dispute-row-${d.rep}` }) as React.HTMLAttributes<HTMLElement>}
          expandable={{
            expandedRowRender: (d) => {
              const line = lineOf(d);
              return (
                <Space direction="vertical" style={{ width: '100%' }}>
                  {line && <LineExplain line={line} />}
                  <Timeline
                    items={(d.history ?? []).map((h) => ({
                      color: h.action === 'accept' ? 'green' : h.action === 'reject' ? 'red' : 'blue',
                      children: (
                        <span>
                          <Typography.Text strong>{t(`comm.dispute.event.${h.action}` as MsgKey)}</Typography.Text>{' '}
                          <Typography.Text type="secondary">
                            {formatDateTime(h.at)} · {h.by === me?.id ? t('comm.you') : h.by}
                          </Typography.Text>
                          {h.amount != null && <Typography.Text> · {signedMoney(h.amount)}</Typography.Text>}
                          {h.note && <div>{h.note}</div>}
                        </span>
                      ),
                    }))}
                  />
                </Space>
              );
            },
          }}
          columns={[
            { key: 'rep', title: t('comm.rep'), render: (_: unknown, d) => <Typography.Text strong>{nameOf(d)}</Typography.Text> },
            { key: 'period', title: t('comm.period'), dataIndex: 'period' },
            { key: 'line', title: t('comm.disputes.line'), render: (_: unknown, d) => { const l = lineOf(d); return <span>{l ? ruleName(plans[d.plan], l.rule, lang) : planName(plans, d.plan, lang)}{d.record && <Typography.Text type="secondary"> · {d.record}</Typography.Text>}</span> } },
            { key: 'amount', title: t('comm.lineAmount'), align: 'right', render: (_: unknown, d) => <Money fen={d.lineAmount} /> },
            { key: 'comment', title: t('comm.disputeComment'), render: (_: unknown, d) => <Typography.Paragraph ellipsis={{ rows: 2, tooltip: d.comment }} style={{ marginBottom: 0, maxWidth: 320 }}>{d.comment}</Typography.Paragraph> },
            { key: 'status', title: t('comm.statusLabel'), render: (_: unknown, d) => <DisputeStatusTag status={d.status} /> },
            {
              key: 'result',
              title: t('comm.disputes.result'),
              render: (_: unknown, d) => (d.status === 'accepted' && d.amount != null ? signedMoney(d.amount) : d.status === 'rejected' ? d.reason : ''),
            },
            {
              key: 'actions',
              title: t('common.actions'),
              render: (_: unknown, d) =>
                d.status === 'open' && d.rep !== me?.id ? (
                  <Button type="link" onClick={() => openResolve(d)} data-testid="dispute-resolve">
                    {t('comm.resolve.action')}
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>

      <Modal
        title={t('comm.resolve.title')}
        open={!!resolving}
        onCancel={() => setResolving(null)}
        onOk={() => void resolve()}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        confirmLoading={busy}
        okButtonProps={{ 'data-testid': 'resolve-ok' } as Record<string, string>}
        width={screens.sm ? 600 : '100%'}
      >
        {resolving && (
          <Space direction="vertical" style={{ width: '100%' }}>
            {formErr && <Alert type="error" showIcon title={formErr} />}
            <Typography.Text type="secondary">
              {nameOf(resolving)} · {resolving.period} · {t('comm.lineAmount')} {formatMoney(resolving.lineAmount)}
            </Typography.Text>
            <Card size="small" type="inner">
              <Typography.Paragraph style={{ marginBottom: 4 }}>
                <Typography.Text strong>{t('comm.disputeComment')}：</Typography.Text>
                {resolving.comment}
              </Typography.Paragraph>
              {lineOf(resolving) && <LineExplain line={lineOf(resolving)!} />}
            </Card>
            <Form layout="vertical">
              <Form.Item label={t('comm.resolve.decision')}>
                <Radio.Group value={decision} onChange={(e) => setDecision(e.target.value)} optionType="button" data-testid="resolve-decision">
                  <Radio.Button value="accept" data-testid="resolve-accept">{t('comm.resolve.accept')}</Radio.Button>
                  <Radio.Button value="reject" data-testid="resolve-reject">{t('comm.resolve.reject')}</Radio.Button>
                </Radio.Group>
              </Form.Item>
              {decision === 'accept' && (
                <Form.Item label={t('comm.resolve.amount')} required validateStatus={fieldErr['/amount'] ? 'error' : undefined} help={fieldErr['/amount'] ?? t('comm.resolve.amountHelp')}>
                  <Input prefix="¥" suffix={t('comm.yuan')} value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" data-testid="resolve-amount" style={{ maxWidth: 240 }} />
                </Form.Item>
              )}
              <Form.Item
                label={decision === 'accept' ? t('comm.resolve.note') : t('comm.resolve.reason')}
                required={decision === 'reject'}
                validateStatus={fieldErr['/reason'] ? 'error' : undefined}
                help={fieldErr['/reason']}
              >
                <Input.TextArea rows={3} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="resolve-reason" />
              </Form.Item>
            </Form>
          </Space>
        )}
      </Modal>
    </div>
  );
}
