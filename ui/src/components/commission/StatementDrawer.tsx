// A statement opened from the approval queue: header (rep, plan, period, status with the lock,
// total, attainment), the lines with their explanations, adjustments explained, the status
// history, and the actions the viewer may take (approve, pay, reopen, export).
import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Descriptions, Drawer, Grid, Popconfirm, Space, Timeline, Typography } from 'antd';
import { CheckOutlined, DollarOutlined, DownloadOutlined, RollbackOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, request } from '../../api/client.ts';
import type { Dispute, Statement } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import type { MsgKey } from '../../i18n/messages.ts';
import { formatDateTime } from '../../lib/definition.ts';
import { formatMoney } from '../../lib/money.ts';
import { problemText } from '../../lib/problem.ts';
import { FullPageSpin } from '../FullPageSpin.tsx';
import { InlineError } from '../PageState.tsx';
import { Money, StatementLines, StatementStatusTag, download, pct, planName, useCommissionRoles, usePlans } from './common.tsx';

interface Props {
  id: string | null;
  onClose: () => void;
  /** onChanged is called after an approve / pay / reopen. */
  onChanged: () => void;
}

export function StatementDrawer({ id, onClose, onChanged }: Props) {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const { canPay, me } = useCommissionRoles();
  const screens = Grid.useBreakpoint();
  const [st, setSt] = useState<Statement | null>(null);
  const [disputes, setDisputes] = useState<Dispute[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const plans = usePlans(st ? [st.plan] : []);

  const load = useCallback(async () => {
    if (!id) return;
    setError(null);
    try {
      const [s, ds] = await Promise.all([api.get<Statement>(`statements/${enc(id)}`), api.get<{ items: Dispute[] }>('disputes', { query: { statement: id } })]);
      setSt(s);
      setDisputes(ds.items);
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => {
    setSt(null);
    void load();
  }, [load]);

  const act = async (action: 'approve' | 'pay' | 'reopen') => {
    if (!st) return;
    setBusy(action);
    try {
      const r = await request<Statement>('POST', `statements/${enc(st.id)}/${action}`, { body: {}, headers: ifMatch(st.version) });
      setSt(r.data);
      message.success(t(`comm.done.${action}` as MsgKey));
      onChanged();
    } catch (e) {
      message.error(problemText(e, t));
    } finally {
      setBusy(null);
    }
  };

  const isOwn = st?.rep === me?.id;
  return (
    <Drawer open={!!id} onClose={onClose} size={screens.md ? 760 : '100%'} title={st ? `${st.repName || st.rep} · ${st.period}` : t('comm.statement')} destroyOnHidden data-testid="statement-drawer">
      {error != null && <InlineError error={error} />}
      {!st && !error && <FullPageSpin />}
      {st && (
        <Space direction="vertical" size={16} style={{ width: '100%' }}>
          <Space wrap>
            {st.status === 'draft' && !isOwn && (
              <Popconfirm title={t('comm.approveConfirm', { name: st.repName, total: formatMoney(st.total) })} onConfirm={() => act('approve')}>
                <Button type="primary" icon={<CheckOutlined />} loading={busy === 'approve'} data-testid="drawer-approve">
                  {t('comm.approve')}
                </Button>
              </Popconfirm>
            )}
            {st.status === 'approved' && canPay && (
              <Popconfirm title={t('comm.payConfirm', { total: formatMoney(st.total) })} description={t('comm.payHint')} onConfirm={() => act('pay')}>
                <Button type="primary" icon={<DollarOutlined />} loading={busy === 'pay'} data-testid="drawer-pay">
                  {t('comm.pay')}
                </Button>
              </Popconfirm>
            )}
            {st.status === 'approved' && canPay && (
              <Popconfirm title={t('comm.reopenConfirm')} onConfirm={() => act('reopen')}>
                <Button icon={<RollbackOutlined />} loading={busy === 'reopen'}>
                  {t('comm.reopen')}
                </Button>
              </Popconfirm>
            )}
            {(['csv', 'xlsx'] as const).map((f) => (
              <Button key={f} icon={<DownloadOutlined />} onClick={() => download(`statements/${enc(st.id)}/export`, { format: f }, `statement.${f}`).catch((e) => message.error(String(e)))}>
                {f.toUpperCase()}
              </Button>
            ))}
          </Space>
          {st.status !== 'draft' && <Alert type="info" showIcon title={st.status === 'paid' ? t('comm.paidLocked') : t('comm.approvedLocked')} />}
          <Descriptions
            size="small"
            bordered
            column={{ xs: 1, sm: 2 }}
            items={[
              { key: 'plan', label: t('comm.plan'), children: `${planName(plans, st.plan, lang)} (v${st.planVersion})` },
              { key: 'status', label: t('comm.statusLabel'), children: <StatementStatusTag status={st.status} /> },
              { key: 'total', label: t('comm.total'), children: <Money fen={st.total} strong testId="drawer-total" /> },
              { key: 'att', label: t('comm.attainment'), children: st.attainment == null ? t('comm.noTarget') : `${pct(st.attainment)} · ${t('comm.targetOf', { target: st.target != null ? formatMoney(st.target) : '—' })}` },
            ]}
          />
          <StatementLines statement={st} plan={plans[st.plan]} disputes={disputes} />
          <div>
            <Typography.Title level={5}>{t('comm.history')}</Typography.Title>
            <Timeline
              items={(st.history ?? []).map((h) => ({
                children: (
                  <span>
                    <Typography.Text strong>{t(`comm.event.${h.action}` as MsgKey) === `comm.event.${h.action}` ? h.action : t(`comm.event.${h.action}` as MsgKey)}</Typography.Text>{' '}
                    <Typography.Text type="secondary">
                      {formatDateTime(h.at)} · {h.by}
                    </Typography.Text>
                    {h.note && <div>{h.note}</div>}
                  </span>
                ),
              }))}
            />
          </div>
        </Space>
      )}
    </Drawer>
  );
}
