// Bottom-up proposals (自下而上): a manager (or an admin) proposes annual amounts for a child
// with a note (POST …/proposals); the tree shows the open proposal beside the allocation with
// the gap; the admin's 提案 tab lists the open proposals (GET …/proposals, with allocated and
// gap per level) and accepts the selected ones with a reason (POST …/proposals/accept) — dry
// run first, so what the locks do to the siblings, or the server's 422, shows before saving.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App as AntApp, Button, Empty, Form, Input, Modal, Segmented, Space, Spin, Table, Tooltip, Typography } from 'antd';
import { CheckOutlined, ReloadOutlined } from '@ant-design/icons';
import dayjs from 'dayjs';
import { api, enc, isApiError } from '../../api/client.ts';
import type { OrgTeam, OrgUser, TargetLevel, TargetOutcome, TargetProposal, TargetRow } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { exactAmount, MONEY, type Measure } from '../../lib/targets.ts';
import { AmountInput } from './AmountInput.tsx';
import { Amount, ChangeTable, ProblemAlert } from './common.tsx';

/** Gap shows proposal − allocation, signed and coloured (above the allocation: green). */
export function Gap({ value, measure, testId }: { value: number | null | undefined; measure: Measure; testId?: string }) {
  const { lang } = useI18n();
  if (value === null || value === undefined) return <span>—</span>;
  return (
    <Typography.Text type={value < 0 ? 'danger' : value > 0 ? 'success' : 'secondary'} data-testid={testId} data-amount={value} style={{ whiteSpace: 'nowrap' }}>
      {value > 0 ? '+' : ''}
      {exactAmount(value, measure, lang)}
    </Typography.Text>
  );
}

/** ProposalCell is a tree row's open proposal for the level shown, and its gap to the annual allocation. */
export function ProposalCell({ row, level, measure }: { row: TargetRow; level: TargetLevel; measure: Measure }) {
  const { t } = useI18n();
  const p = row.proposal;
  const v = p?.amounts?.[level];
  if (!p || v === undefined) return <span>—</span>;
  return (
    <Tooltip title={[p.note, p.at && dayjs(p.at).format('YYYY-MM-DD HH:mm')].filter(Boolean).join(' · ') || undefined}>
      <Space direction="vertical" size={0} data-testid="row-proposal" style={{ alignItems: 'flex-end' }}>
        <Amount value={v} measure={measure} testId="row-proposal-amount" />
        <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
          {t('targets.proposal.gap')} <Gap value={v - row.annual} measure={measure} testId="row-proposal-gap" />
        </Typography.Text>
      </Space>
    </Tooltip>
  );
}

/** ProposeDialog proposes annual amounts, per level of the plan, for one node. */
export function ProposeDialog({ plan, row, levels, level, measure, onClose, onSaved }: { plan: string; row: TargetRow | null; levels: TargetLevel[]; level: TargetLevel; measure: Measure; onClose: () => void; onSaved: () => void }) {
  const { t, lang } = useI18n();
  const [amounts, setAmounts] = useState<Partial<Record<TargetLevel, number>>>({});
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!row) return;
    // Start from the open proposal, else from the allocation of the level shown.
    setAmounts(row.proposal?.amounts ? { ...row.proposal.amounts } : { [level]: row.annual });
    setNote(row.proposal?.note ?? '');
    setError(null);
  }, [row, level]);

  const errs = isApiError(error) && error.status === 422 ? (error.problem.errors ?? []) : [];
  const errorAt = (ptr: string) => errs.filter((e) => e.pointer === ptr).map((e) => e.message);
  const any = Object.values(amounts).some((v) => v !== undefined);

  const save = async () => {
    if (!row) return;
    setSaving(true);
    try {
      const body: Partial<Record<TargetLevel, number>> = {};
      for (const l of levels) if (amounts[l] !== undefined) body[l] = amounts[l];
      await api.post<TargetProposal>(`target-plans/${enc(plan)}/proposals`, { node: row.key, amounts: body, note: note.trim() || undefined });
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={!!row}
      onCancel={onClose}
      title={row ? t('targets.proposal.title', { name: row.name }) : ''}
      destroyOnHidden
      footer={[
        <Button key="c" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button key="s" type="primary" loading={saving} disabled={!any} onClick={() => void save()} data-testid="propose-save">
          {t('targets.proposal.submit')}
        </Button>,
      ]}
    >
      <div data-testid="propose-dialog">
        <Typography.Paragraph type="secondary">{t('targets.proposal.hint')}</Typography.Paragraph>
        {error != null && <ProblemAlert error={error} testId="propose-error" />}
        <Form layout="vertical">
          {levels.map((l) => {
            const m = errorAt(`/amounts/${l}`);
            return (
              <Form.Item
                key={l}
                label={t('targets.proposal.amount', { level: t(`targets.level.${l}`) })}
                extra={l === level && row ? t('targets.proposal.allocated', { amount: exactAmount(row.annual, measure, lang) }) : undefined}
                validateStatus={m.length ? 'error' : undefined}
                help={m.length ? m.join('; ') : undefined}
              >
                <AmountInput
                  value={amounts[l]}
                  measure={measure}
                  testId={`propose-amount-${l}`}
                  onChange={(v) => {
                    setError(null);
                    setAmounts((a) => ({ ...a, [l]: v }));
                  }}
                />
              </Form.Item>
            );
          })}
          <Form.Item label={t('targets.proposal.note')}>
            <Input.TextArea value={note} onChange={(e) => setNote(e.target.value)} rows={2} maxLength={500} data-testid="propose-note" />
          </Form.Item>
        </Form>
      </div>
    </Modal>
  );
}

/** AcceptDialog previews accepting the proposals of `nodes` (dry run) and saves them as locks with a reason. */
function AcceptDialog({ plan, nodes, measure, onClose, onSaved }: { plan: string; nodes: string[] | null; measure: Measure; onClose: () => void; onSaved: (version?: number) => void }) {
  const { t } = useI18n();
  // The preview remembers which nodes it is for, so a reopened dialog never shows the last one's.
  const [state, setPreview] = useState<{ nodes?: string[]; out?: TargetOutcome; error?: unknown; loading?: boolean }>({});
  const preview = state.nodes === nodes ? state : {};
  const [reason, setReason] = useState('');
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [level, setLevel] = useState<TargetLevel>('target');

  useEffect(() => {
    if (!nodes) return;
    let cancelled = false;
    setReason('');
    setSaveError(null);
    setPreview({ nodes, loading: true });
    api.post<TargetOutcome>(`target-plans/${enc(plan)}/proposals/accept`, { nodes, reason: '-', dryRun: true }).then(
      (out) => !cancelled && setPreview({ nodes, out }),
      (error) => !cancelled && setPreview({ nodes, error }),
    );
    return () => {
      cancelled = true;
    };
  }, [plan, nodes]);

  const save = async () => {
    if (!nodes) return;
    setSaving(true);
    try {
      const out = await api.post<TargetOutcome>(`target-plans/${enc(plan)}/proposals/accept`, { nodes, reason, dryRun: false });
      onSaved(out.plan?.publishedVersion);
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const levels = Object.keys(preview.out?.changes ?? {}) as TargetLevel[];
  const shown = levels.includes(level) ? level : (levels[0] ?? 'target');
  return (
    <Modal
      open={!!nodes}
      onCancel={onClose}
      title={t('targets.proposal.acceptTitle', { count: nodes?.length ?? 0 })}
      width={680}
      destroyOnHidden
      footer={[
        <Button key="c" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button key="s" type="primary" loading={saving} disabled={!preview.out || !reason.trim()} onClick={() => void save()} data-testid="accept-save">
          {t('targets.saveLock')}
        </Button>,
      ]}
    >
      <div data-testid="accept-dialog">
        <Typography.Paragraph type="secondary">{t('targets.proposal.acceptHint')}</Typography.Paragraph>
        {preview.loading && <Spin />}
        {preview.error != null && <ProblemAlert error={preview.error} testId="accept-error" />}
        {saveError != null && <ProblemAlert error={saveError} testId="accept-save-error" />}
        {preview.out && (
          <>
            <Space style={{ marginBottom: 8 }} wrap>
              <Typography.Text strong>{t('targets.changes')}</Typography.Text>
              {levels.length > 1 && <Segmented size="small" value={shown} onChange={(v) => setLevel(v as TargetLevel)} options={levels.map((l) => ({ value: l, label: t(`targets.level.${l}`) }))} />}
            </Space>
            <ChangeTable changes={preview.out.changes[shown] ?? []} measure={measure} testId="accept-changes" />
          </>
        )}
        <Form layout="vertical" style={{ marginTop: 16 }}>
          <Form.Item label={t('targets.reason')} required>
            <Input.TextArea value={reason} onChange={(e) => setReason(e.target.value)} rows={2} maxLength={500} data-testid="accept-reason" />
          </Form.Item>
        </Form>
      </div>
    </Modal>
  );
}

/** ProposalsTab (admins) lists the open proposals and accepts the selected ones. */
export function ProposalsTab({ plan, refresh, onChanged, measure = MONEY }: { plan: string; refresh: number; onChanged: () => void; measure?: Measure }) {
  const { t } = useI18n();
  const { message } = AntApp.useApp();
  const [items, setItems] = useState<TargetProposal[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [selected, setSelected] = useState<string[]>([]);
  const [accepting, setAccepting] = useState<string[] | null>(null);

  const load = useCallback(() => {
    api.get<{ items: TargetProposal[] }>(`target-plans/${enc(plan)}/proposals`).then(
      (r) => {
        const list = r.items ?? [];
        setItems(list);
        setError(null);
        setSelected((s) => s.filter((k) => list.some((p) => p.node === k)));
      },
      (e) => setError(e),
    );
  }, [plan]);
  useEffect(load, [load, refresh]);

  // Proposals carry node keys and user ids; the org gives the names (admins may read both lists).
  useEffect(() => {
    let cancelled = false;
    Promise.all([
      api.get<{ items: OrgTeam[] }>('teams').catch(() => ({ items: [] as OrgTeam[] })),
      api.get<{ items: OrgUser[] }>('users').catch(() => ({ items: [] as OrgUser[] })),
    ]).then(([teams, users]) => {
      if (cancelled) return;
      const m = new Map<string, string>();
      for (const tm of teams.items ?? []) m.set(`team:${tm.id}`, tm.name);
      for (const u of users.items ?? []) {
        m.set(`user:${u.id}`, u.displayName || u.username);
        m.set(u.id, u.displayName || u.username);
      }
      setNames(m);
    });
    return () => {
      cancelled = true;
    };
  }, []);

  const levels = useMemo(() => {
    const out: TargetLevel[] = [];
    for (const l of ['floor', 'target', 'stretch'] as TargetLevel[]) if (items?.some((p) => p.amounts?.[l] !== undefined)) out.push(l);
    return out;
  }, [items]);

  if (error) return <ProblemAlert error={error} />;
  if (!items) return <Spin style={{ display: 'block', margin: '48px auto' }} />;
  const nameOf = (k: string) => names.get(k) ?? (k === 'company' ? t('targets.company') : k);

  return (
    <Space direction="vertical" size={12} style={{ width: '100%' }}>
      <Space wrap>
        <Button type="primary" icon={<CheckOutlined />} disabled={selected.length === 0} onClick={() => setAccepting(selected)} data-testid="proposals-accept">
          {t('targets.proposal.accept', { count: selected.length })}
        </Button>
        <Button icon={<ReloadOutlined />} onClick={load}>
          {t('common.reload')}
        </Button>
        <Typography.Text type="secondary">{t('targets.proposal.listHint')}</Typography.Text>
      </Space>
      <Table<TargetProposal>
        data-testid="proposals"
        rowKey="node"
        size="middle"
        pagination={false}
        dataSource={items}
        scroll={{ x: 760 }}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('targets.proposal.none')} /> }}
        rowSelection={{ selectedRowKeys: selected, onChange: (keys) => setSelected(keys as string[]) }}
        onRow={(r) => ({ 'data-testid': `proposal-${r.node}` }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          { title: t('targets.name'), key: 'node', fixed: 'left', render: (_, r) => nameOf(r.node) },
          ...levels.map((l) => ({
            title: t(`targets.level.${l}`),
            key: `l:${l}`,
            children: [
              { title: t('targets.proposal.proposed'), key: `p:${l}`, align: 'right' as const, render: (_: unknown, r: TargetProposal) => <Amount value={r.amounts?.[l]} measure={measure} strong testId={`proposal-amount-${l}`} /> },
              { title: t('targets.proposal.current'), key: `a:${l}`, align: 'right' as const, render: (_: unknown, r: TargetProposal) => <Amount value={r.allocated?.[l]} measure={measure} testId={`proposal-allocated-${l}`} /> },
              { title: t('targets.proposal.gap'), key: `g:${l}`, align: 'right' as const, render: (_: unknown, r: TargetProposal) => <Gap value={r.gap?.[l]} measure={measure} testId={`proposal-gap-${l}`} /> },
            ],
          })),
          { title: t('targets.proposal.by'), key: 'by', render: (_, r) => nameOf(r.by) },
          { title: t('targets.history.at'), key: 'at', render: (_, r) => (r.at ? dayjs(r.at).format('YYYY-MM-DD HH:mm') : '—') },
          { title: t('targets.proposal.note'), dataIndex: 'note', render: (n?: string) => n || '—' },
        ]}
      />
      {items.length > 0 && <Alert type="info" showIcon title={t('targets.proposal.acceptNote')} />}
      <AcceptDialog
        plan={plan}
        nodes={accepting}
        measure={measure}
        onClose={() => setAccepting(null)}
        onSaved={(v) => {
          setAccepting(null);
          setSelected([]);
          if (v) message.success(t('targets.saved', { version: v }));
          load();
          onChanged();
        }}
      />
    </Space>
  );
}
