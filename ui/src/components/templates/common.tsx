// Pieces shared by the template gallery, the install dialog and the diff page: the
// colour-coded change list of an install, its summary tags, and a bundle's 422 with pointers.
import { Alert, Grid, List, Space, Table, Tag, Typography } from 'antd';
import { isApiError } from '../../api/client.ts';
import type { TemplateChange } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { problemText } from '../../lib/problem.ts';
import { ACTION_COLOR, ACTIONS, actionLabel, countActions, kindLabel, pointerTarget, reasonText } from '../../lib/templates.ts';

export function ActionTag({ action }: { action: string }) {
  const { t } = useI18n();
  return (
    <Tag color={ACTION_COLOR[action as keyof typeof ACTION_COLOR] ?? 'default'} data-action={action}>
      {actionLabel(t, action)}
    </Tag>
  );
}

export function KindTag({ kind }: { kind: string }) {
  const { t } = useI18n();
  return <Tag bordered={false}>{kindLabel(t, kind)}</Tag>;
}

/** ActionSummary is one tag per action with its count ("新建 12 · 不变 3"). */
export function ActionSummary({ changes }: { changes: TemplateChange[] }) {
  const { t } = useI18n();
  const n = countActions(changes);
  return (
    <Space size={[4, 4]} wrap data-testid="change-summary">
      {ACTIONS.filter((a) => n[a]).map((a) => (
        <Tag key={a} color={ACTION_COLOR[a]} data-action={a} data-count={n[a]}>
          {actionLabel(t, a)} {n[a]}
        </Tag>
      ))}
    </Space>
  );
}

/** ChangeTable lists what an install did or would do, per definition; a list of rows on phones. */
export function ChangeTable({ changes, testId }: { changes: TemplateChange[]; testId: string }) {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  if (!screens.md) {
    return (
      <List
        size="small"
        data-testid={testId}
        dataSource={changes}
        renderItem={(c) => (
          <List.Item data-testid={`change-${c.kind}-${c.key}`} data-action={c.action}>
            <div style={{ minWidth: 0 }}>
              <Space size={4} wrap>
                <ActionTag action={c.action} />
                <KindTag kind={c.kind} />
                <Typography.Text code>{c.key}</Typography.Text>
              </Space>
              {c.reason && <div style={{ color: 'rgba(0,0,0,0.55)', fontSize: 12, marginTop: 4 }}>{reasonText(c.reason, t)}</div>}
            </div>
          </List.Item>
        )}
      />
    );
  }
  return (
    <Table<TemplateChange>
      size="small"
      data-testid={testId}
      rowKey={(c) => `${c.kind}:${c.key}`}
      dataSource={changes}
      pagination={false}
      scroll={{ y: 360 }}
      onRow={(c) => ({ 'data-testid': `change-${c.kind}-${c.key}`, 'data-action': c.action }) as React.HTMLAttributes<HTMLElement>}
      columns={[
        { key: 'action', title: t('templates.change.action'), width: 96, render: (_: unknown, c) => <ActionTag action={c.action} /> },
        { key: 'kind', title: t('templates.change.kind'), width: 104, render: (_: unknown, c) => kindLabel(t, c.kind) },
        { key: 'key', title: t('templates.change.key'), render: (_: unknown, c) => <Typography.Text code>{c.key}</Typography.Text> },
        {
          key: 'reason',
          title: t('templates.change.reason'),
          render: (_: unknown, c) => (c.reason ? <Typography.Text type={c.action === 'conflict' ? 'danger' : 'secondary'}>{reasonText(c.reason, t)}</Typography.Text> : null),
        },
      ]}
    />
  );
}

/**
 * BundleProblem shows a failed apply or diff: the detail, and for a 422 every error with its
 * pointer into the bundle and, when the bundle is at hand, which definition it falls in.
 */
export function BundleProblem({ error, bundle, title }: { error: unknown; bundle?: unknown; title?: string }) {
  const { t } = useI18n();
  const errors = isApiError(error) ? (error.problem.errors ?? []) : [];
  return (
    <Alert
      type="error"
      showIcon
      style={{ marginBottom: 16 }}
      data-testid="bundle-problem"
      title={title ?? problemText(error, t)}
      description={
        <>
          {title && <div>{problemText(error, t)}</div>}
          {errors.length > 0 && (
            <ul style={{ margin: '6px 0 0', paddingInlineStart: 18 }}>
              {errors.map((e, i) => {
                const at = pointerTarget(bundle, e.pointer);
                return (
                  <li key={i} style={{ marginBottom: 4 }} data-pointer={e.pointer ?? ''}>
                    {e.pointer && <code>{e.pointer}</code>}{' '}
                    {at?.key && (
                      <Typography.Text type="secondary">
                        （{kindLabel(t, at.kind)} <code>{at.key}</code>
                        {at.rest && <code>{at.rest}</code>}）
                      </Typography.Text>
                    )}{' '}
                    {e.code && <Typography.Text type="secondary">[{e.code}]</Typography.Text>} {e.message}
                  </li>
                );
              })}
            </ul>
          )}
        </>
      }
    />
  );
}
