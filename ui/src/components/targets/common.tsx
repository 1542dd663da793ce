// Small pieces shared by the target plan tabs: the rule tag, the amount cell, the change
// table of a lock or re-spread preview, the problem alert and who may adjust which node.
import { useEffect, useMemo, useState } from 'react';
import { Alert, Table, Tag, Tooltip, Typography } from 'antd';
import type { OrgTeam, TargetNodeChange, TargetRow } from '../../api/types.ts';
import { api, isApiError } from '../../api/client.ts';
import { useAuth } from '../../auth.tsx';
import { useI18n } from '../../i18n/index.tsx';
import type { MsgKey } from '../../i18n/messages.ts';
import { problemText } from '../../lib/problem.ts';
import { exactAmount, formatAmount, type Measure } from '../../lib/targets.ts';

const RULE_COLORS: Record<string, string> = { locked: 'purple', floor: 'cyan', cap: 'orange', formula: 'blue', equal: 'geekblue', root: 'gold', frozen: 'default' };

/** RuleTag names how a row's amount was set: 锁定 / 保底 / 封顶 / 公式. */
export function RuleTag({ row }: { row: TargetRow }) {
  const { t } = useI18n();
  const rule = row.lock !== undefined && row.lock !== null ? 'locked' : row.explain?.rule || 'formula';
  const key = `targets.rule.${rule}` as MsgKey;
  const label = t(key);
  return (
    <Tag color={RULE_COLORS[rule] ?? 'default'} data-testid={`rule-${rule}`}>
      {label === key ? rule : label}
    </Tag>
  );
}

/** Amount shows an amount in 元 / 万元 with the exact figure on hover. */
export function Amount({ value, measure, strong, testId }: { value: number | null | undefined; measure: Measure; strong?: boolean; testId?: string }) {
  const { lang } = useI18n();
  return (
    <Tooltip title={exactAmount(value, measure, lang)}>
      <Typography.Text strong={strong} data-testid={testId} data-amount={value ?? ''} style={{ whiteSpace: 'nowrap' }}>
        {formatAmount(value, measure, lang)}
      </Typography.Text>
    </Tooltip>
  );
}

/** ChangeTable lists every node an action would change: old → new and the difference. */
export function ChangeTable({ changes, measure, testId }: { changes: TargetNodeChange[]; measure: Measure; testId?: string }) {
  const { t } = useI18n();
  return (
    <Table<TargetNodeChange>
      data-testid={testId}
      size="small"
      rowKey="key"
      pagination={false}
      dataSource={changes}
      scroll={{ x: 420 }}
      locale={{ emptyText: t('targets.noChanges') }}
      onRow={(r) => ({ 'data-testid': `change-${r.key}` }) as React.HTMLAttributes<HTMLElement>}
      columns={[
        { title: t('targets.name'), dataIndex: 'name' },
        { title: t('targets.old'), key: 'old', render: (_, r) => <Amount value={r.old} measure={measure} testId="change-old" /> },
        { title: t('targets.newAmount'), key: 'new', render: (_, r) => <Amount value={r.new} measure={measure} strong testId="change-new" /> },
        {
          title: t('targets.delta'),
          key: 'delta',
          render: (_, r) => (
            <Typography.Text type={r.delta < 0 ? 'danger' : 'success'} style={{ whiteSpace: 'nowrap' }}>
              {r.delta > 0 ? '+' : ''}
              {exactAmount(r.delta, measure, 'zh-CN')}
            </Typography.Text>
          ),
        },
      ]}
    />
  );
}

/** ProblemAlert shows a failed call in place: the detail and every error message (with its pointer). */
export function ProblemAlert({ error, testId }: { error: unknown; testId?: string }) {
  const { t } = useI18n();
  const errs = isApiError(error) ? (error.problem.errors ?? []) : [];
  // A 403 says so first (你没有权限执行此操作), then the server's reason (e.g. not a team you manage).
  const forbidden = isApiError(error) && error.status === 403;
  const detail = forbidden ? problemText(error, t) : null;
  return (
    <Alert
      data-testid={testId}
      type={forbidden ? 'warning' : 'error'}
      showIcon
      style={{ marginBottom: 12 }}
      title={forbidden ? t('common.forbidden') : problemText(error, t)}
      description={
        forbidden && detail !== t('common.forbidden') ? (
          detail
        ) : errs.length > 0 ? (
          <ul style={{ margin: 0, paddingInlineStart: 18 }}>
            {errs.map((e, i) => (
              <li key={i}>
                {e.pointer && <Typography.Text code>{e.pointer}</Typography.Text>} {e.message}
              </li>
            ))}
          </ul>
        ) : undefined
      }
    />
  );
}

/**
 * useAdjustable says whether the signed-in user may lock or propose a row's amount, as the
 * server decides it (targets.mayAdjust): admins everywhere; managers when the row's parent is a
 * team they manage or one below it. Managers read the org from GET /teams; until it has
 * answered, nothing is adjustable for them.
 */
export function useAdjustable(): (row: TargetRow) => boolean {
  const { me, isAdmin } = useAuth();
  const isManager = !!me?.roles?.includes('manager');
  const [teams, setTeams] = useState<OrgTeam[] | null>(null);
  useEffect(() => {
    if (isAdmin || !isManager) return;
    let cancelled = false;
    api.get<{ items: OrgTeam[] }>('teams').then(
      (r) => !cancelled && setTeams(r.items ?? []),
      () => !cancelled && setTeams([]),
    );
    return () => {
      cancelled = true;
    };
  }, [isAdmin, isManager]);
  const managed = useMemo(() => {
    const out = new Set<string>();
    if (!teams || !me) return out;
    const queue = teams.filter((t) => t.managers?.includes(me.id)).map((t) => t.id);
    while (queue.length > 0) {
      const id = queue.shift()!;
      if (out.has(id)) continue;
      out.add(id);
      for (const t of teams) if (t.parentId === id) queue.push(t.id);
    }
    return out;
  }, [teams, me]);
  return useMemo(() => {
    if (isAdmin) return (r: TargetRow) => r.depth > 0 && !!r.parent;
    if (!isManager) return () => false;
    return (r: TargetRow) => !!r.parent?.startsWith('team:') && managed.has(r.parent.slice(5));
  }, [isAdmin, isManager, managed]);
}
