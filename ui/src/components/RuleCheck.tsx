// The shared part of the live formula checks (FormulaCheck for objects, PipelineCheck for
// pipelines): each formula is type-checked by the server (POST /api/v1/rules/check) shortly
// after the admin stops typing, and the results are listed with ✓ and the result type, or the
// error's code, message, line:column, caret snippet and hint.
import { useEffect, useState, type ReactNode } from 'react';
import { Empty, List, Space, Spin, Typography } from 'antd';
import { CheckCircleFilled, CloseCircleFilled, LoadingOutlined } from '@ant-design/icons';
import { api, isApiError } from '../api/client.ts';
import type { ProblemError, RuleCheckResult } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { problemText } from '../lib/problem.ts';

/** RuleCheckItem is one formula to check: id is stable across edits, expression is what is checked. */
export interface RuleCheckItem {
  id: string;
  kind: string;
  expression: string;
}

export type RuleCheckOutcome = { state: 'ok'; type?: string; value?: unknown } | { state: 'error'; errors: ProblemError[] } | { state: 'failed'; text: string };

/**
 * useRuleCheck posts body(item) to rules/check for every item, delay ms after the last change,
 * and reports the results per item id. body undefined turns the check off; key stands for
 * everything the request depends on (items included): a new key starts a new round.
 */
export function useRuleCheck<I extends RuleCheckItem>(items: I[], body: ((it: I) => Record<string, unknown>) | undefined, key: string, delay = 450) {
  const { t } = useI18n();
  const [results, setResults] = useState<Record<string, RuleCheckOutcome>>({});
  const [pending, setPending] = useState(false);
  const enabled = !!body && items.length > 0;

  useEffect(() => {
    if (!body || items.length === 0) {
      setPending(false);
      return;
    }
    setPending(true);
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      const next: Record<string, RuleCheckOutcome> = {};
      await Promise.all(
        items.map(async (it) => {
          try {
            const r = await api.post<RuleCheckResult>('rules/check', body(it), { signal: ctrl.signal });
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
    // key stands for items and body.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, enabled, delay]);

  return { results, pending };
}

function caret(expression: string, e: ProblemError): string | undefined {
  if (e.snippet) return e.snippet;
  if (!e.column) return undefined;
  const lines = expression.split('\n');
  const line = lines[(e.line ?? 1) - 1] ?? expression;
  return `${line}\n${' '.repeat(Math.max(0, e.column - 1))}^`;
}

interface RuleCheckProps<I extends RuleCheckItem> {
  testId: string;
  items: I[];
  /** body is what is posted for an item; undefined while there is nothing to check against. */
  body: ((it: I) => Record<string, unknown>) | undefined;
  /** checkKey stands for everything body depends on (see useRuleCheck). */
  checkKey: string;
  jsonValid: boolean;
  /** empty is shown instead of the list when there is no formula. */
  empty: string;
  hint: string;
  /** warning, if any, is shown under the hint when the JSON is valid. */
  warning?: string;
  /** title renders what names an item (left of its result). */
  title: (it: I) => ReactNode;
}

/** RuleCheck checks the formulas live and lists them with their results. */
export function RuleCheck<I extends RuleCheckItem>({ testId, items, body, checkKey, jsonValid, empty, hint, warning, title }: RuleCheckProps<I>) {
  const { t } = useI18n();
  const { results, pending } = useRuleCheck(items, body, checkKey);

  if (items.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={empty} />;

  return (
    <div data-testid={testId}>
      <Space style={{ marginBottom: 8 }}>
        <Typography.Text type="secondary">{hint}</Typography.Text>
        {pending && jsonValid && <Spin indicator={<LoadingOutlined spin />} size="small" />}
      </Space>
      {!jsonValid && <Typography.Paragraph type="warning">{t('editor.waitingJson')}</Typography.Paragraph>}
      {jsonValid && warning && <Typography.Paragraph type="warning">{warning}</Typography.Paragraph>}
      <List
        size="small"
        dataSource={items}
        renderItem={(it) => {
          const r = results[it.id];
          return (
            <List.Item key={it.id} style={{ display: 'block' }} data-formula={it.id}>
              <div style={{ display: 'flex', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' }}>
                <Space size={6}>{title(it)}</Space>
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
