// The editor's node table: per-node inputs (potential and the plan's attributes), floor and
// cap for every node of the tree. The root's children come from the live preview; a team's
// children are loaded when it is expanded, by previewing the edited definition at that node
// (POST …/allocate?dryRun=true&node=…). Nodes that already have settings but are not loaded
// yet are listed after the tree, so nothing in `nodes` is hidden.
import { useRef, useState } from 'react';
import { InputNumber, Spin, Table, Typography } from 'antd';
import { api, enc } from '../../api/client.ts';
import type { TargetNodeSettings, TargetPlanDefinition, TargetRow, TargetTree } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import type { Measure } from '../../lib/targets.ts';
import { AmountInput } from './AmountInput.tsx';
import { ProblemAlert } from './common.tsx';

interface NodeRow {
  key: string;
  name: string;
  placeholder?: boolean;
  children?: NodeRow[];
}

type Child = Pick<TargetRow, 'key' | 'name' | 'hasChildren'>;

export function NodeTable({ plan, def, root, rootChildren, measure, inputNames, setNode }: { plan: string; def: TargetPlanDefinition; root?: string; rootChildren: TargetRow[] | undefined; measure: Measure; inputNames: string[]; setNode: (key: string, f: (n: TargetNodeSettings) => TargetNodeSettings) => void }) {
  const { t } = useI18n();
  const [loaded, setLoaded] = useState<Map<string, Child[]>>(new Map());
  const [failed, setFailed] = useState<Map<string, unknown>>(new Map());
  const [expanded, setExpanded] = useState<string[]>([]);
  // The latest definition, for loads started by an expand.
  const defRef = useRef(def);
  defRef.current = def;

  const load = (key: string) => {
    setFailed((m) => {
      const n = new Map(m);
      n.delete(key);
      return n;
    });
    api.post<TargetTree>(`target-plans/${enc(plan)}/allocate`, { definition: defRef.current }, { query: { dryRun: 'true', node: key } }).then(
      (tree) => setLoaded((m) => new Map(m).set(key, tree.children.map((c) => ({ key: c.key, name: c.name, hasChildren: c.hasChildren })))),
      (e) => setFailed((m) => new Map(m).set(key, e)),
    );
  };

  const names = new Map<string, string>();
  const seen = new Set<string>();
  const build = (list: Child[]): NodeRow[] =>
    list.map((c) => {
      names.set(c.key, c.name);
      seen.add(c.key);
      const kids = loaded.get(c.key);
      return {
        key: c.key,
        name: c.name,
        children: c.hasChildren ? (kids ? build(kids) : [{ key: `${c.key}#loading`, name: '', placeholder: true }]) : undefined,
      };
    });
  const rows = build(rootChildren ?? []);
  const extras = Object.keys(def.nodes ?? {}).filter((k) => !seen.has(k) && k !== root);
  const data: NodeRow[] = extras.length ? [...rows, { key: '#other', name: t('targets.editor.nodesOther'), placeholder: true, children: extras.map((k) => ({ key: k, name: k })) }] : rows;

  const parentOf = (placeholder: string) => placeholder.slice(0, -'#loading'.length);
  return (
    <Table<NodeRow>
      data-testid="editor-nodes"
      size="small"
      rowKey="key"
      pagination={false}
      scroll={{ x: 640 }}
      dataSource={data}
      onRow={(r) => ({ 'data-testid': `node-row-${r.key}` }) as React.HTMLAttributes<HTMLElement>}
      expandable={{
        expandedRowKeys: expanded,
        onExpand: (open, r) => {
          setExpanded((ks) => (open ? [...ks, r.key] : ks.filter((k) => k !== r.key)));
          if (open && !r.placeholder && !loaded.has(r.key)) load(r.key);
        },
      }}
      columns={[
        {
          title: t('targets.editor.node'),
          key: 'n',
          render: (_, r) => {
            if (r.key === '#other') return <Typography.Text type="secondary">{r.name}</Typography.Text>;
            if (!r.placeholder) return <span data-testid="node-name">{names.get(r.key) ?? r.name}</span>;
            const err = failed.get(parentOf(r.key));
            return err ? (
              <div style={{ minWidth: 240 }}>
                <ProblemAlert error={err} />
                <a onClick={() => load(parentOf(r.key))}>{t('common.retry')}</a>
              </div>
            ) : (
              <Spin size="small">
                <Typography.Text type="secondary">{t('targets.editor.loading')}</Typography.Text>
              </Spin>
            );
          },
        },
        ...inputNames.map((name) => ({
          title: name,
          key: `in:${name}`,
          render: (_: unknown, r: NodeRow) =>
            r.placeholder ? null : (
              <InputNumber
                size="small"
                min={0}
                data-testid={`node-input-${name}-${r.key}`}
                value={def.nodes?.[r.key]?.inputs?.[name]}
                onChange={(v) =>
                  setNode(r.key, (n) => {
                    const inputs = { ...(n.inputs ?? {}) };
                    if (v === null || v === undefined) delete inputs[name];
                    else inputs[name] = v;
                    return { ...n, inputs };
                  })
                }
              />
            ),
        })),
        ...(['floor', 'cap'] as const).map((b) => ({
          title: t(`targets.editor.${b}`),
          key: b,
          render: (_: unknown, r: NodeRow) =>
            r.placeholder ? null : (
              <AmountInput
                value={def.nodes?.[r.key]?.[b]}
                measure={measure}
                testId={`node-${b}-${r.key}`}
                onChange={(v) =>
                  setNode(r.key, (n) => {
                    const next = { ...n };
                    if (v === undefined) delete next[b];
                    else next[b] = v;
                    return next;
                  })
                }
              />
            ),
        })),
      ]}
    />
  );
}
