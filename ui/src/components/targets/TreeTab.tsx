// 目标树: one node of a published plan with its children for a level and period
// (GET /target-plans/{key}/tree), drill-down by clicking a team, an explain drawer per row,
// lock / unlock with the re-spread previewed before saving (POST …/locks), bottom-up
// proposals (POST …/proposals) shown beside the allocation, the per-value split of a plan
// with a dimension (expandable rows) and, for admins, the mid-year re-spread (POST …/respread).
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Alert, Breadcrumb, Button, Card, Descriptions, Drawer, Empty, Form, Grid, Input, Modal, Segmented, Select, Space, Spin, Statistic, Switch, Table, Typography, App as AntApp } from 'antd';
import { EditOutlined, LockOutlined, QuestionCircleOutlined, RedoOutlined, UnlockOutlined } from '@ant-design/icons';
import { api, enc } from '../../api/client.ts';
import type { TargetLevel, TargetOutcome, TargetPlanDefinition, TargetRow, TargetTree } from '../../api/types.ts';
import { useAuth } from '../../auth.tsx';
import { useI18n } from '../../i18n/index.tsx';
import { amountText, exactAmount, measureOf, parseAmount, pct, planPeriods, type Measure } from '../../lib/targets.ts';
import { Amount, ChangeTable, ProblemAlert, RuleTag, useAdjustable } from './common.tsx';
import { ProposalCell, ProposeDialog } from './Proposals.tsx';
import { RespreadDialog } from './Respread.tsx';
import { DimTable } from './Dims.tsx';
import { LoadError } from '../PageState.tsx';

function ExplainDrawer({ row, measure, onClose }: { row: TargetRow | null; measure: Measure; onClose: () => void }) {
  const { t, lang } = useI18n();
  const screens = Grid.useBreakpoint();
  const ex = row?.explain;
  const amt = (v: number) => exactAmount(v, measure, lang);
  return (
    <Drawer open={!!row} onClose={onClose} title={row ? t('targets.explainTitle', { name: row.name }) : ''} size={screens.md ? 560 : '100%'} destroyOnHidden>
      {row && ex && (
        <div data-testid="explain">
          <Space direction="vertical" size={12} style={{ width: '100%' }}>
            <Space>
              <RuleTag row={row} />
              <Amount value={row.annual} measure={measure} strong />
            </Space>
            {ex.rule === 'root' && <Typography.Paragraph>{t('targets.explain.root', { amount: amt(row.annual) })}</Typography.Paragraph>}
            {ex.rule === 'locked' && <Typography.Paragraph>{t('targets.explain.locked', { amount: amt(ex.rounded) })}</Typography.Paragraph>}
            {ex.rule === 'floor' && <Typography.Paragraph>{t('targets.explain.floor', { amount: amt(ex.rounded) })}</Typography.Paragraph>}
            {ex.rule === 'cap' && <Typography.Paragraph>{t('targets.explain.cap', { amount: amt(ex.rounded) })}</Typography.Paragraph>}
            {ex.rule === 'equal' && <Typography.Paragraph>{t('targets.explain.equal')}</Typography.Paragraph>}
            {(ex.rule === 'formula' || ex.rule === 'equal' || ex.rule === 'frozen') && (
              <>
                {ex.formula && (
                  <div>
                    <Typography.Text>{t('targets.explain.formulaIntro')}</Typography.Text>
                    <pre style={{ background: '#f6f8fa', padding: 8, borderRadius: 6, whiteSpace: 'pre-wrap', margin: '6px 0 0' }} data-testid="explain-formula">
                      {ex.formula}
                    </pre>
                  </div>
                )}
                {ex.inputs && Object.keys(ex.inputs).length > 0 && (
                  <Table
                    size="small"
                    pagination={false}
                    title={() => t('targets.explain.inputs')}
                    rowKey="name"
                    dataSource={Object.entries(ex.inputs).map(([name, v]) => ({ name, ...v }))}
                    columns={[
                      { title: t('targets.explain.input'), dataIndex: 'name' },
                      { title: t('targets.explain.value'), key: 'v', render: (_, r) => (r.name === 'history' ? amt(r.value) : r.value.toLocaleString(lang, { maximumFractionDigits: 4 })) },
                      { title: t('targets.explain.inputShare'), key: 's', render: (_, r) => pct(r.share, 2) },
                    ]}
                  />
                )}
                <ol style={{ paddingInlineStart: 20, margin: 0 }}>
                  <li>{t('targets.explain.weightText', { weight: ex.weight.toLocaleString(lang, { maximumFractionDigits: 6 }) })}</li>
                  <li>{t('targets.explain.shareText', { share: pct(ex.share, 2) })}</li>
                  <li>{t('targets.explain.poolText', { pool: amt(ex.pool) })}</li>
                  <li>{t('targets.explain.rawText', { pool: amt(ex.pool), share: pct(ex.share, 4), raw: exactAmount(Math.round(ex.raw), measure, lang), rounded: amt(ex.rounded) })}</li>
                  {!!ex.frozen && <li>{t('targets.explain.frozenText', { amount: amt(ex.frozen) })}</li>}
                </ol>
              </>
            )}
            {row.months?.length === 12 && (
              <Descriptions size="small" bordered column={{ xs: 2, sm: 3, md: 4 }} title={t('targets.explain.months')}>
                {row.months.map((m, i) => (
                  <Descriptions.Item key={i} label={t('targets.editor.month', { m: i + 1 })}>
                    {exactAmount(m, measure, lang)}
                  </Descriptions.Item>
                ))}
              </Descriptions>
            )}
          </Space>
        </div>
      )}
    </Drawer>
  );
}

interface LockTarget {
  row: TargetRow;
  unlock: boolean;
}

function LockDialog({ plan, target, level, parent, measure, onClose, onSaved }: { plan: string; target: LockTarget | null; level: TargetLevel; parent: TargetRow; measure: Measure; onClose: () => void; onSaved: (version?: number) => void }) {
  const { t, lang } = useI18n();
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<{ amount: number | null; out: TargetOutcome } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [saving, setSaving] = useState(false);
  const row = target?.row;
  const unlock = !!target?.unlock;

  useEffect(() => {
    setText(row ? amountText(row.lock ?? row.annual, measure) : '');
    setReason('');
    setPreview(null);
    setError(null);
  }, [row, measure]);

  const amount = unlock ? null : parseAmount(text, measure);
  const valid = unlock || (typeof amount === 'number' && Number.isFinite(amount) && amount >= 0);

  // The re-spread is previewed as the amount is typed (400 ms after the last key).
  useEffect(() => {
    if (!row || !valid) return;
    let cancelled = false;
    const timer = setTimeout(() => {
      setBusy(true);
      api
        .post<TargetOutcome>(`target-plans/${enc(plan)}/locks`, { node: row.key, level, amount, reason: reason || '-', dryRun: true })
        .then(
          (out) => {
            if (cancelled) return;
            setPreview({ amount: amount ?? null, out });
            setError(null);
          },
          (e) => {
            if (cancelled) return;
            setPreview(null);
            setError(e);
          },
        )
        .finally(() => !cancelled && setBusy(false));
    }, 400);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // reason does not change the re-spread
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [row, amount, valid, plan, level]);

  const save = async () => {
    if (!row) return;
    setSaving(true);
    try {
      const out = await api.post<TargetOutcome>(`target-plans/${enc(plan)}/locks`, { node: row.key, level, amount, reason, dryRun: false });
      onSaved(out.plan?.publishedVersion);
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  const fresh = preview && preview.amount === (amount ?? null);
  const changes = preview?.out.changes?.[level] ?? [];
  return (
    <Modal
      open={!!row}
      onCancel={onClose}
      title={row ? t(unlock ? 'targets.unlockTitle' : 'targets.lockTitle', { name: row.name }) : ''}
      width={640}
      destroyOnHidden
      footer={[
        <Button key="c" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button key="s" type="primary" loading={saving} disabled={!fresh || !reason.trim() || busy} onClick={() => void save()} data-testid="lock-save">
          {t('targets.saveLock')}
        </Button>,
      ]}
    >
      <div data-testid="lock-dialog">
        <Typography.Paragraph type="secondary">{t('targets.previewHint')}</Typography.Paragraph>
        <Form layout="vertical">
          {!unlock && (
            <Form.Item
              label={t('targets.lockAmount', { level: t(`targets.level.${level}`) })}
              extra={t('targets.lockAmountHelp', { parent: parent.name, amount: exactAmount(parent.annual, measure, lang) })}
              validateStatus={valid ? undefined : 'error'}
              help={valid ? undefined : t('targets.amountInvalid')}
            >
              <Input value={text} onChange={(e) => setText(e.target.value)} inputMode="decimal" prefix={measure.unit === 'money' ? '¥' : undefined} data-testid="lock-amount" autoFocus />
            </Form.Item>
          )}
          {error != null && <ProblemAlert error={error} testId="lock-error" />}
          <Spin spinning={busy}>
            {preview && (
              <>
                <Typography.Text strong>{t('targets.changes')}</Typography.Text>
                <ChangeTable changes={changes} measure={measure} testId="lock-changes" />
              </>
            )}
          </Spin>
          <Form.Item label={t('targets.reason')} required style={{ marginTop: 16 }}>
            <Input.TextArea value={reason} onChange={(e) => setReason(e.target.value)} rows={2} maxLength={500} data-testid="lock-reason" />
          </Form.Item>
        </Form>
      </div>
    </Modal>
  );
}

/** TreeTab is the 目标树 tab; `refresh` changes when another tab published a version. */
export function TreeTab({ plan, fiscalYear, definition, refresh, onChanged }: { plan: string; fiscalYear: number; definition?: TargetPlanDefinition; refresh: number; onChanged: () => void }) {
  const { t } = useI18n();
  const { isAdmin } = useAuth();
  const { message } = AntApp.useApp();
  const [params, setParams] = useSearchParams();
  const period = params.get('period') || String(fiscalYear);
  const level = (params.get('level') as TargetLevel) || 'target';
  const node = params.get('node') || '';
  const actuals = params.get('actuals') !== 'false';
  const [tree, setTree] = useState<TargetTree | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [yearStart, setYearStart] = useState<string>();
  const [explain, setExplain] = useState<TargetRow | null>(null);
  const [lock, setLock] = useState<LockTarget | null>(null);
  const [propose, setPropose] = useState<TargetRow | null>(null);
  const [respread, setRespread] = useState(false);
  // Lock and propose buttons show only where the server would allow them (admins everywhere,
  // managers under the teams they manage); a 403 still shows in the dialog.
  const adjustable = useAdjustable();

  const set = (k: string, v: string | null) => {
    const next = new URLSearchParams(params);
    if (v === null || v === '') next.delete(k);
    else next.set(k, v);
    setParams(next, { replace: k !== 'node' });
  };

  const load = useCallback(() => {
    setLoading(true);
    api
      .get<TargetTree>(`target-plans/${enc(plan)}/tree`, { query: { period, level, node: node || undefined, actuals: actuals ? 'true' : undefined } })
      .then(
        (tr) => {
          setTree(tr);
          setError(null);
          if (tr.period.key === String(fiscalYear)) setYearStart(tr.period.start.slice(0, 10));
        },
        (e) => setError(e),
      )
      .finally(() => setLoading(false));
  }, [plan, period, level, node, actuals, fiscalYear]);
  useEffect(load, [load, refresh]);

  const periods = useMemo(() => planPeriods(fiscalYear, yearStart), [fiscalYear, yearStart]);
  const kind = periods.find((p) => p.key === period)?.kind ?? 'year';
  const measure = measureOf(tree);

  if (error && !tree) return <LoadError error={error} onRetry={load} />;
  if (!tree) return <Spin style={{ display: 'block', margin: '48px auto' }} />;

  const sum = tree.children.reduce((s, c) => s + c.amount, 0);
  const hasActuals = tree.node.actual !== undefined && tree.node.actual !== null;
  const levels = tree.levels?.length ? tree.levels : ['target'];
  const hasProposals = tree.children.some((c) => c.proposal?.amounts?.[level] !== undefined);
  const hasDims = tree.children.some((c) => (c.dims?.length ?? 0) > 0);
  const afterChange = (v?: number) => {
    if (v) message.success(t('targets.saved', { version: v }));
    load();
    onChanged();
  };

  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Space wrap size={12}>
        <Segmented<TargetLevel>
          data-testid="tree-level"
          value={level}
          onChange={(v) => set('level', v === 'target' ? null : v)}
          options={levels.map((l) => ({ value: l as TargetLevel, label: t(`targets.level.${l as TargetLevel}`) }))}
        />
        <Segmented
          value={kind}
          onChange={(k) => set('period', k === 'year' ? null : (periods.find((p) => p.kind === k)?.key ?? null))}
          options={(['year', 'quarter', 'month', 'week'] as const).map((k) => ({ value: k, label: t(`targets.period.${k}`) }))}
        />
        {kind !== 'year' && (
          <Select
            data-testid="tree-period"
            value={period}
            style={{ minWidth: 150 }}
            showSearch
            onChange={(v) => set('period', v)}
            options={periods.filter((p) => p.kind === kind).map((p) => ({ value: p.key, label: p.kind === 'week' ? `${p.key} (${p.start})` : p.key }))}
          />
        )}
        <Space size={6}>
          <Switch size="small" checked={actuals} onChange={(v) => set('actuals', v ? null : 'false')} />
          {t('targets.actuals')}
        </Space>
        {isAdmin && (
          <Button icon={<RedoOutlined />} onClick={() => setRespread(true)} data-testid="respread-open">
            {t('targets.respread.open')}
          </Button>
        )}
      </Space>

      <Breadcrumb
        data-testid="tree-path"
        items={[
          // path holds the visible ancestors, root first; the node itself comes last.
          ...tree.path.map((p, i) => ({ key: p.key, title: <a onClick={() => set('node', i === 0 && !p.key.includes(':') ? null : p.key)}>{p.name}</a> })),
          { key: tree.node.key, title: <span>{tree.node.name}</span> },
        ]}
      />
      {error != null && <ProblemAlert error={error} />}

      <Card size="small" data-testid="tree-node">
        <Space wrap size={32}>
          <Statistic title={`${tree.node.name} · ${t('targets.amount')} (${tree.period.key})`} valueRender={() => <Amount value={tree.node.amount} measure={measure} strong testId="node-amount" />} />
          <Statistic title={t('targets.annual')} valueRender={() => <Amount value={tree.node.annual} measure={measure} />} />
          {hasActuals && <Statistic title={t('targets.actual')} valueRender={() => <Amount value={tree.node.actual} measure={measure} />} />}
          {hasActuals && <Statistic title={t('targets.attainment')} valueRender={() => <Typography.Text strong>{pct(tree.node.attainment)}</Typography.Text>} />}
          <Space>
            <RuleTag row={tree.node} />
            <Button size="small" icon={<QuestionCircleOutlined />} onClick={() => setExplain(tree.node)}>
              {t('targets.explain')}
            </Button>
          </Space>
        </Space>
        {(tree.node.dims?.length ?? 0) > 0 && (
          <div style={{ marginTop: 12 }}>
            <DimTable row={tree.node} dimension={definition?.dimension} measure={measure} />
          </div>
        )}
      </Card>

      <Card
        size="small"
        title={
          tree.children.length > 0 ? (
            <Typography.Text type={sum === tree.node.amount ? 'success' : 'danger'} style={{ fontWeight: 'normal' }} data-testid="tree-sum">
              {sum === tree.node.amount
                ? t('targets.sumCheck', { sum: exactAmount(sum, measure, 'zh-CN') })
                : t('targets.sumMismatch', { sum: exactAmount(sum, measure, 'zh-CN'), parent: exactAmount(tree.node.amount, measure, 'zh-CN') })}
            </Typography.Text>
          ) : undefined
        }
      >
        <Table<TargetRow>
          data-testid="tree-children"
          rowKey="key"
          size="middle"
          loading={loading}
          pagination={false}
          dataSource={tree.children}
          scroll={{ x: 760 }}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('targets.noChildren')} /> }}
          onRow={(r) => ({ 'data-testid': `tree-row-${r.key}` }) as React.HTMLAttributes<HTMLElement>}
          expandable={hasDims ? { rowExpandable: (r) => (r.dims?.length ?? 0) > 0, expandedRowRender: (r) => <DimTable row={r} dimension={definition?.dimension} measure={measure} /> } : undefined}
          columns={[
            {
              title: t('targets.name'),
              key: 'name',
              fixed: 'left',
              render: (_, r) =>
                r.hasChildren ? (
                  <a onClick={() => set('node', r.key)} data-testid="tree-drill">
                    {r.name}
                  </a>
                ) : (
                  r.name
                ),
            },
            { title: `${t('targets.amount')}`, key: 'amount', align: 'right', render: (_, r) => <Amount value={r.amount} measure={measure} strong testId="row-amount" /> },
            { title: t('targets.annual'), key: 'annual', align: 'right', render: (_, r) => <Amount value={r.annual} measure={measure} testId="row-annual" /> },
            { title: t('targets.share'), key: 'share', align: 'right', render: (_, r) => pct(tree.node.amount ? r.amount / tree.node.amount : null) },
            ...(hasProposals ? [{ title: t('targets.proposal.column'), key: 'proposal', align: 'right' as const, render: (_: unknown, r: TargetRow) => <ProposalCell row={r} level={level} measure={measure} /> }] : []),
            { title: t('targets.rule'), key: 'rule', render: (_, r) => <RuleTag row={r} /> },
            ...(hasActuals
              ? [
                  { title: t('targets.actual'), key: 'actual', align: 'right' as const, render: (_: unknown, r: TargetRow) => <Amount value={r.actual} measure={measure} /> },
                  { title: t('targets.attainment'), key: 'att', align: 'right' as const, render: (_: unknown, r: TargetRow) => pct(r.attainment) },
                ]
              : []),
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_, r) => (
                <Space size={4} wrap>
                  <Button size="small" type="link" icon={<QuestionCircleOutlined />} onClick={() => setExplain(r)} data-testid="row-explain">
                    {t('targets.explain')}
                  </Button>
                  {adjustable(r) && (
                    <Button size="small" type="link" icon={<LockOutlined />} onClick={() => setLock({ row: r, unlock: false })} data-testid="row-lock">
                      {t('targets.lock')}
                    </Button>
                  )}
                  {adjustable(r) && r.lock !== undefined && r.lock !== null && (
                    <Button size="small" type="link" icon={<UnlockOutlined />} onClick={() => setLock({ row: r, unlock: true })} data-testid="row-unlock">
                      {t('targets.unlock')}
                    </Button>
                  )}
                  {adjustable(r) && (
                    <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setPropose(r)} data-testid="row-propose">
                      {t('targets.proposal.action')}
                    </Button>
                  )}
                </Space>
              ),
            },
          ]}
        />
      </Card>
      {tree.version === 0 && <Alert type="info" title={t('targets.notPublishedHint')} />}
      <ExplainDrawer row={explain} measure={measure} onClose={() => setExplain(null)} />
      <LockDialog
        plan={plan}
        target={lock}
        level={level}
        parent={tree.node}
        measure={measure}
        onClose={() => setLock(null)}
        onSaved={(v) => {
          setLock(null);
          afterChange(v);
        }}
      />
      <ProposeDialog
        plan={plan}
        row={propose}
        levels={levels as TargetLevel[]}
        level={level}
        measure={measure}
        onClose={() => setPropose(null)}
        onSaved={() => {
          setPropose(null);
          message.success(t('targets.proposal.saved'));
          load();
          onChanged();
        }}
      />
      {isAdmin && (
        <RespreadDialog
          plan={plan}
          open={respread}
          fiscalYear={fiscalYear}
          yearStart={yearStart}
          amounts={definition?.amounts ?? {}}
          measure={measure}
          onClose={() => setRespread(false)}
          onSaved={(v) => {
            setRespread(false);
            afterChange(v);
          }}
        />
      )}
    </Space>
  );
}
