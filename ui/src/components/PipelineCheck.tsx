// Live check for the pipeline editor: the pipeline's match formula (kind "match") and every
// stages[i].enterIf.expression (kind "enterIf": the record's fields plus from, to, user) are
// type-checked by the server (POST /api/v1/rules/check, object = the pipeline's object)
// shortly after the admin stops typing.
import { useEffect, useMemo, useState } from 'react';
import { Empty, List, Space, Spin, Tag, Typography } from 'antd';
import { CheckCircleFilled, CloseCircleFilled, LoadingOutlined } from '@ant-design/icons';
import { api, isApiError } from '../api/client.ts';
import type { PipelineDefinition, ProblemError, RuleCheckResult } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { problemText } from '../lib/problem.ts';

export interface PipelineFormula {
  id: string;
  kind: 'match' | 'enterIf';
  /** pointer is where the formula sits in the definition, e.g. /stages/2/enterIf/expression. */
  pointer: string;
  stage?: string;
  stageLabel?: string;
  expression: string;
}

type Result = { state: 'ok'; type?: string } | { state: 'error'; errors: ProblemError[] } | { state: 'failed'; text: string };

export function collectPipelineFormulas(def: PipelineDefinition | undefined, lang: 'zh-CN' | 'en'): PipelineFormula[] {
  const out: PipelineFormula[] = [];
  if (!def || typeof def !== 'object') return out;
  if (typeof def.match === 'string' && def.match.trim() !== '') out.push({ id: 'match', kind: 'match', pointer: '/match', expression: def.match });
  if (Array.isArray(def.stages)) {
    def.stages.forEach((s, i) => {
      const expr = s && typeof s === 'object' ? s.enterIf?.expression : undefined;
      if (typeof expr === 'string' && expr.trim() !== '')
        out.push({ id: `stages.${i}.enterIf`, kind: 'enterIf', pointer: `/stages/${i}/enterIf/expression`, stage: String(s.key ?? i), stageLabel: loc(s.label, lang), expression: expr });
    });
  }
  return out;
}

function caret(expression: string, e: ProblemError): string | undefined {
  if (e.snippet) return e.snippet;
  if (!e.column) return undefined;
  const lines = expression.split('\n');
  const line = lines[(e.line ?? 1) - 1] ?? expression;
  return `${line}\n${' '.repeat(Math.max(0, e.column - 1))}^`;
}

export function PipelineCheck({ def, jsonValid, onJump }: { def: PipelineDefinition | undefined; jsonValid: boolean; onJump?: (pointer: string) => void }) {
  const { t, lang } = useI18n();
  const items = useMemo(() => collectPipelineFormulas(def, lang), [def, lang]);
  const object = typeof def?.object === 'string' ? def.object : undefined;
  const [results, setResults] = useState<Record<string, Result>>({});
  const [pending, setPending] = useState(false);
  const key = JSON.stringify([object, items.map((i) => [i.id, i.expression])]);

  useEffect(() => {
    if (!jsonValid || !object || items.length === 0) {
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
            const r = await api.post<RuleCheckResult>('rules/check', { kind: it.kind, expression: it.expression, object }, { signal: ctrl.signal });
            next[it.id] = r?.ok === false ? { state: 'error', errors: r.errors ?? [] } : { state: 'ok', type: r?.type };
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
    }, 450);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
    // key stands for object and items.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, jsonValid]);

  if (items.length === 0) return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('pipelineEditor.noFormulas')} />;

  return (
    <div data-testid="pipeline-check">
      <Space style={{ marginBottom: 8 }}>
        <Typography.Text type="secondary">{t('pipelineEditor.formulasHint')}</Typography.Text>
        {pending && jsonValid && <Spin indicator={<LoadingOutlined spin />} size="small" />}
      </Space>
      {!jsonValid && <Typography.Paragraph type="warning">{t('editor.waitingJson')}</Typography.Paragraph>}
      {jsonValid && !object && <Typography.Paragraph type="warning">{t('pipelineEditor.noObject')}</Typography.Paragraph>}
      <List
        size="small"
        dataSource={items}
        renderItem={(it) => {
          const r = results[it.id];
          return (
            <List.Item key={it.id} style={{ display: 'block' }} data-formula={it.id}>
              <div style={{ display: 'flex', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' }}>
                <Space size={6}>
                  {it.kind === 'match' ? <Typography.Text strong>{t('pipelineEditor.match')}</Typography.Text> : <Typography.Text strong>{it.stageLabel ?? it.stage}</Typography.Text>}
                  <a onClick={() => onJump?.(it.pointer)} style={{ fontSize: 12 }}>
                    <code>{it.pointer}</code>
                  </a>
                  <Tag color={it.kind === 'match' ? 'cyan' : 'gold'}>{t(it.kind === 'match' ? 'pipelineEditor.kind.match' : 'pipelineEditor.kind.enterIf')}</Tag>
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
