// Live formula check for the object editor: every fields.*.computed | visibleIf | requiredIf
// of the definition being edited is type-checked by the server (POST /api/v1/rules/check
// with the unsaved definition) shortly after the admin stops typing.
import { useMemo } from 'react';
import { Tag, Typography } from 'antd';
import type { ObjectDefinition } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { fieldLabel } from '../lib/definition.ts';
import { RuleCheck } from './RuleCheck.tsx';

const KINDS = ['computed', 'visibleIf', 'requiredIf'] as const;
type Kind = (typeof KINDS)[number];

interface Item {
  id: string;
  field: string;
  kind: Kind;
  expression: string;
}

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

export function FormulaCheck({ def, jsonValid }: { def: ObjectDefinition | undefined; jsonValid: boolean }) {
  const { t, lang } = useI18n();
  const items = useMemo(() => collectFormulas(def), [def]);
  const checked = jsonValid ? def : undefined;
  const key = useMemo(() => JSON.stringify(checked ?? null), [checked]);

  return (
    <RuleCheck
      testId="formula-check"
      items={items}
      body={checked && ((it: Item) => ({ kind: it.kind, expression: it.expression, field: it.field, definition: checked }))}
      checkKey={key}
      jsonValid={jsonValid}
      empty={t('editor.noFormulas')}
      hint={t('editor.formulasHint')}
      title={(it) => (
        <>
          <Typography.Text strong>{def ? fieldLabel(def, it.field, lang) : it.field}</Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {it.field}
          </Typography.Text>
          <Tag color={it.kind === 'computed' ? 'purple' : it.kind === 'visibleIf' ? 'cyan' : 'gold'}>{t(`editor.kind.${it.kind}`)}</Tag>
        </>
      )}
    />
  );
}
