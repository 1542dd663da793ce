// 我的提成 (/commission/mine?period=): a rep's statements of a period — total, attainment against
// the target, lines grouped by kind, each expandable into its explanation in plain words (the
// server's text in the UI language, with base, rate, band, split share and caps) — and 申诉 on a
// line (a comment), plus the rep's own disputes and how they were resolved. Works on a phone.
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, App, Card, Col, Empty, Form, Grid, Input, List, Modal, Progress, Row, Space, Statistic, Typography } from 'antd';
import { api, enc, isApiError } from '../api/client.ts';
import type { Dispute, Statement, StatementLine } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { formatMoney } from '../lib/money.ts';
import { formatDateTime } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';
import { FullPageSpin } from '../components/FullPageSpin.tsx';
import { InlineError } from '../components/PageState.tsx';
import { DisputeSummary, LineExplain, Money, PeriodPicker, StatementLines, StatementStatusTag, defaultPeriod, pct, planName, ruleName, useCommissionRoles, usePlans } from '../components/commission/common.tsx';

export default function MyCommissionPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const { me } = useCommissionRoles();
  const screens = Grid.useBreakpoint();
  const [params, setParams] = useSearchParams();
  const period = params.get('period') || defaultPeriod();
  const [statements, setStatements] = useState<Statement[] | null>(null);
  const [disputes, setDisputes] = useState<Dispute[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [flag, setFlag] = useState<{ st: Statement; line: StatementLine } | null>(null);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [flagError, setFlagError] = useState<string | null>(null);
  const plans = usePlans((statements ?? []).map((s) => s.plan));

  const load = useCallback(async () => {
    if (!me?.id) return;
    setError(null);
    try {
      const [sts, ds] = await Promise.all([
        api.get<{ items: Statement[] }>('statements', { query: { user: me.id, period, limit: 50 } }),
        api.get<{ items: Dispute[] }>('disputes', { query: { user: me.id } }),
      ]);
      setStatements(sts.items);
      setDisputes(ds.items);
    } catch (e) {
      setError(e);
      setStatements([]);
    }
  }, [me?.id, period]);
  useEffect(() => {
    setStatements(null);
    void load();
  }, [load]);

  const raise = async () => {
    if (!flag) return;
    if (!comment.trim()) {
      setFlagError(t('comm.commentRequired'));
      return;
    }
    setBusy(true);
    setFlagError(null);
    try {
      await api.post(`statements/${enc(flag.st.id)}/lines/${enc(flag.line.id)}/disputes`, { comment: comment.trim() });
      message.success(t('comm.disputeRaised'));
      setFlag(null);
      setComment('');
      void load();
    } catch (e) {
      const fe = isApiError(e) ? e.problem.errors?.find((x) => x.pointer === '/comment') : undefined;
      setFlagError(fe ? fe.message : problemText(e, t));
    } finally {
      setBusy(false);
    }
  };

  const total = (statements ?? []).reduce((s, x) => s + x.total, 0);
  const mine = disputes.filter((d) => d.period === period || d.status === 'open');

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{t('comm.mine.title')}</h1>
          <Typography.Text type="secondary">{t('comm.mine.subtitle')}</Typography.Text>
        </div>
        <PeriodPicker value={period} onChange={(p) => setParams({ period: p }, { replace: true })} />
      </div>
      {error != null && <InlineError error={error} />}
      {statements === null ? (
        <FullPageSpin />
      ) : statements.length === 0 ? (
        <Card>
          <Empty description={t('comm.mine.empty', { period })} />
        </Card>
      ) : (
        <Space direction="vertical" size={16} style={{ width: '100%' }}>
          {statements.length > 1 && (
            <Card size="small">
              <Statistic title={t('comm.mine.totalAll')} value={formatMoney(total)} />
            </Card>
          )}
          {statements.map((st) => {
            const att = st.attainment;
            return (
              <Card
                key={st.id}
                data-testid={`statement-${st.id}`}
                title={
                  <Space wrap size={8}>
                    <span>{planName(plans, st.plan, lang)}</span>
                    <StatementStatusTag status={st.status} />
                  </Space>
                }
                extra={!screens.sm ? undefined : <Typography.Text type="secondary">{st.period}</Typography.Text>}
              >
                <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
                  <Col xs={24} sm={8}>
                    <Statistic title={t('comm.total')} value={formatMoney(st.total)} valueStyle={{ color: st.total < 0 ? '#cf1322' : '#1d39c4', fontWeight: 600 }} />
                    <span data-testid="statement-total" data-amount={st.total} hidden />
                  </Col>
                  <Col xs={24} sm={16}>
                    <Typography.Text type="secondary">{t('comm.attainment')}</Typography.Text>
                    {att == null ? (
                      <div>
                        <Typography.Text type="secondary">{t('comm.noTarget')}</Typography.Text>
                      </div>
                    ) : (
                      <>
                        <Progress percent={Math.round(att * 1000) / 10} status={att >= 1 ? 'success' : 'active'} format={() => pct(att)} />
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          {t('comm.targetOf', { target: st.target != null ? formatMoney(st.target) : '—' })}
                        </Typography.Text>
                      </>
                    )}
                  </Col>
                </Row>
                {st.status !== 'draft' && <Alert type="info" showIcon style={{ marginBottom: 12 }} title={st.status === 'paid' ? t('comm.mine.paidNote') : t('comm.mine.approvedNote')} />}
                <StatementLines statement={st} plan={plans[st.plan]} disputes={disputes} onDispute={(line) => { setFlag({ st, line }); setFlagError(null); }} />
                {st.computedAt && (
                  <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 8, marginBottom: 0 }}>
                    {t('comm.computedAt', { at: formatDateTime(st.computedAt), version: st.planVersion })}
                  </Typography.Paragraph>
                )}
              </Card>
            );
          })}
        </Space>
      )}

      <Card title={t('comm.mine.disputes')} style={{ marginTop: 16 }} size="small" data-testid="my-disputes">
        {mine.length === 0 ? (
          <Typography.Text type="secondary">{t('comm.mine.noDisputes')}</Typography.Text>
        ) : (
          <List
            size="small"
            dataSource={mine}
            renderItem={(d) => (
              <List.Item>
                <div style={{ width: '100%' }}>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {d.period} · {planName(plans, d.plan, lang)} · {d.record ?? ''} · {t('comm.lineAmount')} {formatMoney(d.lineAmount)} · {formatDateTime(d.createdAt)}
                  </Typography.Text>
                  <DisputeSummary dispute={d} />
                </div>
              </List.Item>
            )}
          />
        )}
      </Card>

      <Modal
        title={t('comm.raiseDispute')}
        open={!!flag}
        onCancel={() => setFlag(null)}
        onOk={() => void raise()}
        okText={t('comm.submitDispute')}
        cancelText={t('common.cancel')}
        confirmLoading={busy}
        okButtonProps={{ 'data-testid': 'dispute-ok' } as Record<string, string>}
        width={screens.sm ? 560 : '100%'}
      >
        {flag && (
          <Space direction="vertical" style={{ width: '100%' }}>
            <Card size="small" type="inner" title={ruleName(plans[flag.st.plan], flag.line.rule, lang)} extra={<Money fen={flag.line.amount} />}>
              <LineExplain line={flag.line} />
            </Card>
            <Form layout="vertical">
              <Form.Item label={t('comm.disputeComment')} required validateStatus={flagError ? 'error' : undefined} help={flagError ?? t('comm.disputeCommentHelp')}>
                <Input.TextArea rows={3} maxLength={2000} showCount value={comment} onChange={(e) => setComment(e.target.value)} data-testid="dispute-comment" />
              </Form.Item>
            </Form>
          </Space>
        )}
      </Modal>
    </div>
  );
}
