// Live check for the pipeline editor: the pipeline's match formula (kind "match") and every
// stages[i].enterIf.expression (kind "enterIf": the record's fields plus from, to, user) are
// type-checked by the server (POST /api/v1/rules/check, object = the pipeline's object)
// shortly after the admin stops typing.
import { useMemo } from 'react';
import { Tag, Typography } from 'antd';
import type { PipelineDefinition } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { RuleCheck } from './RuleCheck.tsx';

export interface PipelineFormula {
  id: string;
  kind: 'match' | 'enterIf';
  /** pointer is where the formula sits in the definition, e.g. /stages/2/enterIf/expression. */
  pointer: string;
  stage?: string;
  stageLabel?: string;
  expression: string;
}

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

export function PipelineCheck({ def, jsonValid, onJump }: { def: PipelineDefinition | undefined; jsonValid: boolean; onJump?: (pointer: string) => void }) {
  const { t, lang } = useI18n();
  const items = useMemo(() => collectPipelineFormulas(def, lang), [def, lang]);
  const object = typeof def?.object === 'string' ? def.object : undefined;
  const key = JSON.stringify([object, items.map((i) => [i.id, i.expression])]);

  return (
    <RuleCheck
      testId="pipeline-check"
      items={items}
      body={jsonValid && object ? (it: PipelineFormula) => ({ kind: it.kind, expression: it.expression, object }) : undefined}
      checkKey={key}
      jsonValid={jsonValid}
      empty={t('pipelineEditor.noFormulas')}
      hint={t('pipelineEditor.formulasHint')}
      warning={object ? undefined : t('pipelineEditor.noObject')}
      title={(it) => (
        <>
          {it.kind === 'match' ? <Typography.Text strong>{t('pipelineEditor.match')}</Typography.Text> : <Typography.Text strong>{it.stageLabel ?? it.stage}</Typography.Text>}
          <a onClick={() => onJump?.(it.pointer)} style={{ fontSize: 12 }}>
            <code>{it.pointer}</code>
          </a>
          <Tag color={it.kind === 'match' ? 'cyan' : 'gold'}>{t(it.kind === 'match' ? 'pipelineEditor.kind.match' : 'pipelineEditor.kind.enterIf')}</Tag>
        </>
      )}
    />
  );
}
