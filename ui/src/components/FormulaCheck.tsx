// Live formula check for the object editor: every fields.*.computed | visibleIf | requiredIf
// of the definition being edited is type-checked by the server (POST /api/v1/rules/check
// with the unsaved definition) shortly after the admin stops typing.
import { useEffect, useMemo, useState } from 'react';
import { Empty, List, Space, Spin, Tag, Typography } from 'antd';
import { CheckCircleFilled, CloseCircleFilled, LoadingOutlined } from '@ant-design/icons';
import { api, isApiError } from '../api/client.ts';
import type { ObjectDefinition, ProblemError, RuleCheckResult } from '../api/types.ts';
import { useI18n, type TFunc } from '../i18n/index.tsx';
import { fieldLabel } from '../lib/definition.ts';
import { problemText } from '../lib/problem.ts';

const KINDS = ['computed', 'visibleIf', 'requiredIf'] as const;
type Kind = (typeof KINDS)[number];

interface Item {
  id: string;
  field: string;
  kind: Kind;
  expression: string;
}

type Result = { state: 'ok'; type?: string; value?: unknown } | { state: 'error'; errors: ProblemError[] } | { state: 'failed'; text: string };

export function collectFormulas(def: ObjectDefinition | undefined): Item[] {
  const out: Item[] = [];
  const fields = def?.fields;
  if (!fields || typeof fields !== 'object') return out;
  for (const [field, cfg] of Object.entries(fields)) {
    if (!cfg || typeof cfg !== 'object') continue;
    for (const kind of KINDS) {
      const expr = cfg[kind];
      if (typeof expr === 'string' && expr.trim() !== '') out.push({ id: `${field}.${kind}`, field, kind, expression: expr });
    }
  }
  return out;
}

/** useFormulaCheck runs the checks and reports results per item id, debounced by delay ms. */
function useFormulaCheck(def: ObjectDefinition | undefined, items: Item[], t: TFunc, delay = 450) {
  const [results, setResults] = useState<Record<string, Result>>({});
  const [pending, setPending] = useState(false);
  const key = useMemo(() => JSON.stringify(def ?? null), [def]);

  useEffect(() => {
    if (!def || items.length === 0) {
      setPending(false);
      return;
    }
    setPending(true);
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      const next: Record<string, Result> = {};
      await Promise.all(
        items.map(async (it) => {
          try {
            const r = await api.post<RuleCheckResult>('rules/check', { kind: it.kind, expression: it.expression, field: it.field, definition: def }, { signal: ctrl.signal });
            next[it.id] = r?.ok === false ? { state: 'error', errors: r.errors ?? [] } : { state: 'ok', type: r?.type, value: r?.value };
          } catch (e) {
            if ((e as Error)?.name === 'AbortError') return;
            if (isApiError(e) && e.problem.errors?.length) next[it.id] = { state: 'error', errors: e.problem.errors };
            else next[it.id] = { state: 'failed', text: problemText(e, t) };
          }
        }),
      );
      if (!ctrl.signal.aborted) {
        setResults(next);
        setPending(false);
      }
    }, delay);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
    // key stands for def and items.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, delay]);

  return { results, pending };
}

function caret(expression: string, e: ProblemError): string | undefined {
  if (e.snippet) return e.snippet;
  if (!e.column) return undefined;
  const lines = expression.split('\n');
  const line = lines[(e.line ?? 1) - 1] ?? expression;
  return `${line}\n${' '.repeat(Math.max(0, e.column - 1))}^`;
}

export function FormulaCheck({ def, jsonValid }: { def: ObjectDefinition | undefined; jsonValid: boolean }) {
  const { t, lang } = useI18n();
  const items = useMemo(() => collectFormulas(def), [def]);
  const { results, pending } = useFormulaCheck(jsonValid ? def : undefined, items, t);

  if (items.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('editor.noFormulas')} />;

  return (
    <div data-testid="formula-check">
      <Space style={{ marginBottom: 8 }}>
        <Typography.Text type="secondary">{t('editor.formulasHint')}</Typography.Text>
        {pending && jsonValid && <Spin indicator={<LoadingOutlined spin />} size="small" />}
      </Space>
      {!jsonValid && <Typography.Paragraph type="warning">{t('editor.waitingJson')}</Typography.Paragraph>}
      <List
        size="small"
        dataSource={items}
        renderItem={(it) => {
          const r = results[it.id];
          return (
            <List.Item key={it.id} style={{ display: 'block' }} data-formula={it.id}>
              <div style={{ display: 'flex', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' }}>
                <Space size={6}>
                  <Typography.Text strong>{def ? fieldLabel(def, it.field, lang) : it.field}</Typography.Text>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {it.field}
                  </Typography.Text>
                  <Tag color={it.kind === 'computed' ? 'purple' : it.kind === 'visibleIf' ? 'cyan' : 'gold'}>{t(`editor.kind.${it.kind}`)}</Tag>
                </Space>
                {!r ? (
                  <Typography.Text type="secondary">
                    <LoadingOutlined /> {t('editor.checking')}
                  </Typography.Text>
                ) : r.state === 'ok' ? (
                  <Typography.Text type="success" data-testid="formula-ok">
                    <CheckCircleFilled /> {t('editor.ok')}
                    {r.type && (
                      <>
                        {' · '}
                        <code>{r.type}</code>
                      </>
                    )}
                  </Typography.Text>
                ) : (
                  <Typography.Text type="danger" data-testid="formula-error">
                    <CloseCircleFilled /> {r.state === 'error' ? (r.errors[0]?.code ?? 'error') : 'error'}
                  </Typography.Text>
                )}
              </div>
              <div style={{ marginTop: 4 }}>
                <span className="formula-code">{it.expression}</span>
              </div>
              {r?.state === 'failed' && <Typography.Text type="danger">{r.text}</Typography.Text>}
              {r?.state === 'error' &&
                r.errors.map((e, i) => {
                  const snippet = caret(it.expression, e);
                  return (
                    <div key={i} style={{ marginTop: 6 }}>
                      <Typography.Text type="danger">
                        {e.message}
                        {e.line !== undefined && e.column !== undefined && <> （{t('editor.jsonPosition', { line: e.line, column: e.column })}）</>}
                      </Typography.Text>
                      {snippet && <pre className="formula-snippet">{snippet}</pre>}
                      {e.hint && (
                        <div>
                          <Typography.Text type="warning">{t('editor.hint', { hint: e.hint })}</Typography.Text>
                        </div>
                      )}
                    </div>
                  );
                })}
            </List.Item>
          );
        }}
      />
    </div>
  );
}
