// Reading an object definition (docs/api.md "Objects"): field order, labels in the current
// language, money and enum detection, display formatting, and the RJSF uiSchema.
import type { UiSchema } from '@rjsf/utils';
import dayjs from 'dayjs';
import { loc, type Lang, type TFunc } from '../i18n/index.tsx';
import type { FieldConfig, JSONSchema, ObjectDefinition } from '../api/types.ts';
import { formatMoney } from './money.ts';

/** OBJECT_KEY is the shape the server accepts for object keys (they become collection names). */
export const OBJECT_KEY = /^[a-z][a-z0-9_]{0,39}$/;

export function properties(def: ObjectDefinition | undefined): Record<string, JSONSchema> {
  const p = def?.schema?.properties;
  return p && typeof p === 'object' ? p : {};
}

export function fieldConfig(def: ObjectDefinition | undefined, name: string): FieldConfig {
  const f = def?.fields?.[name];
  return f && typeof f === 'object' ? f : {};
}

/** fieldOrder lists the schema's properties: first those named in definition.order, then the rest. */
export function fieldOrder(def: ObjectDefinition | undefined): string[] {
  const props = Object.keys(properties(def));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of def?.order ?? []) {
    if (props.includes(name) && !seen.has(name)) {
      seen.add(name);
      out.push(name);
    }
  }
  for (const name of props) if (!seen.has(name)) out.push(name);
  return out;
}

export function fieldLabel(def: ObjectDefinition | undefined, name: string, lang: Lang): string {
  return loc(fieldConfig(def, name).label, lang) ?? properties(def)[name]?.title ?? name;
}

export function isMoney(schema: JSONSchema | undefined, cfg?: FieldConfig): boolean {
  if (!schema) return false;
  return schema.format === 'money' || cfg?.widget === 'money';
}

export function isComputed(def: ObjectDefinition | undefined, name: string): boolean {
  const s = properties(def)[name];
  return !!fieldConfig(def, name).computed || s?.readOnly === true;
}

export function titleField(def: ObjectDefinition | undefined): string | undefined {
  if (!def) return undefined;
  if (def.titleField && properties(def)[def.titleField]) return def.titleField;
  return fieldOrder(def).find((n) => properties(def)[n]?.type === 'string');
}

/** enumValues returns the allowed values of an enum field (enum, or oneOf of consts). */
export function enumValues(schema: JSONSchema | undefined): unknown[] | undefined {
  if (!schema) return undefined;
  if (Array.isArray(schema.enum)) return schema.enum;
  if (Array.isArray(schema.oneOf) && schema.oneOf.length > 0 && schema.oneOf.every((o) => o && 'const' in o)) {
    return schema.oneOf.map((o) => o.const);
  }
  return undefined;
}

// Labels for common enum values (pipeline stages, industries), used only when a definition gives
// none of its own (fields.<f>.enumLabels or oneOf titles), so a seeded "stage: lost"
// does not read as raw English to a Chinese sales manager.
const COMMON_ENUM_LABELS: Record<string, Record<Lang, string>> = {
  lead: { 'zh-CN': '线索', en: 'Lead' },
  qualified: { 'zh-CN': '需求确认', en: 'Qualified' },
  proposal: { 'zh-CN': '方案报价', en: 'Proposal' },
  negotiation: { 'zh-CN': '商务谈判', en: 'Negotiation' },
  won: { 'zh-CN': '赢单', en: 'Won' },
  lost: { 'zh-CN': '输单', en: 'Lost' },
  open: { 'zh-CN': '进行中', en: 'Open' },
  closed: { 'zh-CN': '已关闭', en: 'Closed' },
  active: { 'zh-CN': '活跃', en: 'Active' },
  inactive: { 'zh-CN': '停用', en: 'Inactive' },
  // Industries, as the demo's customer object uses them.
  hospital: { 'zh-CN': '医院', en: 'Hospital' },
  distributor: { 'zh-CN': '经销商', en: 'Distributor' },
  manufacturing: { 'zh-CN': '制造业', en: 'Manufacturing' },
  retail: { 'zh-CN': '零售', en: 'Retail' },
  internet: { 'zh-CN': '互联网', en: 'Internet' },
  pharma: { 'zh-CN': '医药', en: 'Pharma' },
  finance: { 'zh-CN': '金融', en: 'Finance' },
  education: { 'zh-CN': '教育', en: 'Education' },
  government: { 'zh-CN': '政府', en: 'Government' },
  other: { 'zh-CN': '其他', en: 'Other' },
};

export function enumLabel(def: ObjectDefinition | undefined, name: string, value: unknown, lang: Lang): string {
  const key = String(value);
  const own = fieldConfig(def, name).enumLabels?.[key];
  if (own) return loc(own, lang) ?? key;
  const schema = properties(def)[name];
  const opt = schema?.oneOf?.find((o) => o && o.const === value);
  if (opt?.title) return opt.title;
  return COMMON_ENUM_LABELS[key]?.[lang] ?? key;
}

const ENUM_COLORS: Record<string, string> = { won: 'green', lost: 'red', lead: 'default', qualified: 'blue', proposal: 'geekblue', negotiation: 'purple' };
const PALETTE = ['blue', 'cyan', 'geekblue', 'purple', 'gold', 'magenta', 'lime', 'orange'];

export function enumColor(values: unknown[] | undefined, value: unknown): string {
  const key = String(value);
  if (ENUM_COLORS[key]) return ENUM_COLORS[key];
  const i = values ? values.indexOf(value) : -1;
  return i >= 0 ? PALETTE[i % PALETTE.length] : 'default';
}

/** formatValue renders a field value as text for tables and cards (enums are not tagged here). */
export function formatValue(def: ObjectDefinition | undefined, name: string, value: unknown, lang: Lang, t: TFunc): string {
  if (value === null || value === undefined || value === '') return '';
  const schema = properties(def)[name];
  if (isMoney(schema, fieldConfig(def, name))) return formatMoney(value);
  if (enumValues(schema)) return enumLabel(def, name, value, lang);
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (schema?.format === 'date-time' && typeof value === 'string') return formatDateTime(value);
  if (typeof value === 'number') return value.toLocaleString(lang);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join('、');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function formatDateTime(v: string | undefined): string {
  if (!v) return '';
  const d = dayjs(v);
  return d.isValid() ? d.format('YYYY-MM-DD HH:mm') : v;
}

/** formSchema is the definition's JSON Schema prepared for RJSF (root title dropped: the page has one). */
export function formSchema(def: ObjectDefinition): JSONSchema {
  const s = structuredClone(def.schema ?? { type: 'object' }) as JSONSchema;
  delete s.title;
  delete s.description;
  // The server validates the record schema (draft 2020-12); the browser only gives early
  // hints and resolves nothing remote, so drop the identifiers that name a draft or a base.
  delete s.$schema;
  delete s.$id;
  if (!s.type) s.type = 'object';
  return s;
}

/**
 * widgetFor maps fields.<f>.widget (schemas/object.schema.json) to an RJSF widget, when
 * the widget fits the field's type; otherwise the type's default widget is used.
 */
function widgetFor(widget: string | undefined, schema: JSONSchema): string | undefined {
  if (!widget) return undefined;
  const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  const isEnum = !!enumValues(schema);
  switch (widget) {
    case 'text':
      return type === 'string' && !isEnum ? 'text' : undefined;
    case 'textarea':
      return type === 'string' && !isEnum ? 'textarea' : undefined;
    case 'email':
      return type === 'string' ? 'email' : undefined;
    case 'url':
      return type === 'string' ? 'uri' : undefined;
    case 'phone':
      return type === 'string' ? 'phone' : undefined;
    case 'user':
      return type === 'string' ? 'text' : undefined; // a user picker needs an endpoint every role may read
    case 'date':
      return type === 'string' ? 'date' : undefined;
    case 'datetime':
      return type === 'string' ? 'datetime' : undefined;
    case 'number':
      return type === 'integer' || type === 'number' ? 'updown' : undefined;
    case 'percent':
      return type === 'integer' || type === 'number' ? 'percent' : undefined;
    case 'select':
      return isEnum ? 'select' : undefined;
    case 'radio':
      return isEnum || type === 'boolean' ? 'radio' : undefined;
    case 'checkbox':
      return type === 'boolean' ? 'checkbox' : undefined;
    case 'switch':
      return type === 'boolean' ? 'switch' : undefined;
    case 'tags':
      return type === 'array' ? 'tags' : undefined;
    default:
      return undefined;
  }
}

/** buildUiSchema turns definition.fields and order into an RJSF uiSchema for lang. */
export function buildUiSchema(def: ObjectDefinition, lang: Lang, t: TFunc, mode: 'create' | 'edit'): UiSchema {
  const ui: UiSchema = {
    'ui:order': [...fieldOrder(def), '*'],
    'ui:submitButtonOptions': { norender: true },
  };
  const props = properties(def);
  for (const name of Object.keys(props)) {
    const schema = props[name];
    const cfg = fieldConfig(def, name);
    const f: UiSchema = { 'ui:title': fieldLabel(def, name, lang) };
    const placeholder = loc(cfg.placeholder, lang);
    if (placeholder) f['ui:placeholder'] = placeholder;
    const description = loc(cfg.description, lang);
    if (description) f['ui:description'] = description;
    let help = loc(cfg.help, lang);

    const widget = widgetFor(cfg.widget, schema);
    if (isMoney(schema, cfg)) f['ui:widget'] = 'money';
    else if (widget) f['ui:widget'] = widget;
    else if (schema.type === 'string' && (schema.maxLength ?? 0) as number > 500) f['ui:widget'] = 'textarea';

    const values = enumValues(schema);
    if (values && Array.isArray(schema.enum)) {
      f['ui:enumNames'] = values.map((v) => enumLabel(def, name, v, lang));
      f['ui:placeholder'] = placeholder ?? t('form.select');
    }

    if (isComputed(def, name)) {
      f['ui:readonly'] = true;
      f['ui:disabled'] = true;
      if (mode === 'create') f['ui:placeholder'] = t('records.computedPending');
      help = help ?? t('records.computed');
    }
    if (help) f['ui:help'] = help;
    ui[name] = f;
  }
  return ui;
}

/** editableData drops computed/read-only fields, which the server owns. */
export function editableData(def: ObjectDefinition, data: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data ?? {})) {
    if (isComputed(def, k)) continue;
    if (v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * mergePatch builds an RFC 7396 merge patch that turns `before` into `after` at the top
 * level: changed or added fields carry their new value, removed fields are null.
 */
export function mergePatch(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) patch[k] = v;
  }
  for (const k of Object.keys(before)) {
    if (!(k in after)) patch[k] = null;
  }
  return patch;
}

const zhFirst = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? pick(v as Record<string, unknown>, ['zh-CN', 'en']) : v);

function pick(obj: Record<string, unknown>, first: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of first) if (k in obj) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out)) out[k] = obj[k];
  return out;
}

/**
 * readableDefinition orders a definition's keys the way a person reads it (the server
 * returns them sorted alphabetically): key, label, titleField, schema, fields, order; the
 * schema's properties and the fields follow `order`. Key order carries no meaning in
 * JSON, so this changes nothing but readability in the editor.
 */
export function readableDefinition(def: ObjectDefinition): ObjectDefinition {
  if (!def || typeof def !== 'object') return def;
  const names = fieldOrder(def);
  const out = pick(def, ['key', 'label', 'titleField', 'schema', 'fields', 'order']);
  if ('label' in out) out.label = zhFirst(out.label);
  if (def.schema && typeof def.schema === 'object') {
    const schema = pick(def.schema, ['type', 'properties', 'required']);
    if (def.schema.properties && typeof def.schema.properties === 'object') {
      const props = pick(def.schema.properties, names);
      for (const k of Object.keys(props)) {
        const p = props[k];
        if (p && typeof p === 'object' && !Array.isArray(p)) props[k] = pick(p as Record<string, unknown>, ['type', 'format', 'enum', 'default', 'readOnly']);
      }
      schema.properties = props;
    }
    out.schema = schema;
  }
  if (def.fields && typeof def.fields === 'object') {
    const fields = pick(def.fields, names);
    for (const k of Object.keys(fields)) {
      const f = fields[k];
      if (f && typeof f === 'object' && !Array.isArray(f)) {
        const hints = pick(f as Record<string, unknown>, ['label', 'placeholder', 'help', 'widget', 'computed', 'visibleIf', 'requiredIf']);
        for (const h of ['label', 'placeholder', 'help']) if (h in hints) hints[h] = zhFirst(hints[h]);
        fields[k] = hints;
      }
    }
    out.fields = fields;
  }
  return out as ObjectDefinition;
}
