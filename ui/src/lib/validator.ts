// A small JSON Schema validator for RJSF that never evaluates generated code.
//
// @rjsf/validator-ajv8 compiles every schema with `new Function`, which the server's
// Content-Security-Policy (script-src 'self', no 'unsafe-eval') rightly forbids, so ajv
// cannot run in the page. The server is the authority on validation anyway (it validates
// draft 2020-12 plus requiredIf/computed rules and answers 422 with pointers); in the
// browser we only want quick hints before a round trip. This validator interprets the
// keywords forms use — type, required, enum, const, string/number/array limits, pattern,
// common formats, properties/items, allOf/anyOf/oneOf and local $ref — and ignores the
// rest, leaving them to the server. Messages are in the UI language.
import {
  createErrorHandler,
  getDefaultFormState,
  toErrorSchema,
  unwrapErrorHandler,
  validationDataMerge,
  type CustomValidator,
  type ErrorTransformer,
  type RJSFSchema,
  type RJSFValidationError,
  type UiSchema,
  type ValidationData,
  type ValidatorType,
} from '@rjsf/utils';
import type { Lang } from '../i18n/index.tsx';
import { fenToYuanString } from './money.ts';

/** RawError is one failed keyword at a data path. */
export interface RawError {
  path: string[];
  keyword: string;
  params: Record<string, unknown>;
  message: string;
  schemaPath: string;
}

type Schema = RJSFSchema & Record<string, unknown>;

const TYPE_NAMES: Record<Lang, Record<string, string>> = {
  'zh-CN': { integer: '整数', number: '数字', string: '文本', boolean: '是/否', array: '列表', object: '对象', null: '空值' },
  en: { integer: 'a whole number', number: 'a number', string: 'text', boolean: 'yes/no', array: 'a list', object: 'an object', null: 'empty' },
};

const MESSAGES: Record<Lang, Record<string, string>> = {
  'zh-CN': {
    required: '请填写此项',
    type: '应为{type}',
    enum: '请从列表中选择',
    const: '取值不正确',
    minLength: '至少 {limit} 个字符',
    maxLength: '最多 {limit} 个字符',
    pattern: '格式不正确',
    minimum: '不能小于 {limit}',
    maximum: '不能大于 {limit}',
    exclusiveMinimum: '必须大于 {limit}',
    exclusiveMaximum: '必须小于 {limit}',
    multipleOf: '必须是 {limit} 的倍数',
    minItems: '至少 {limit} 项',
    maxItems: '最多 {limit} 项',
    uniqueItems: '不能有重复项',
    'format.date': '请输入有效日期（YYYY-MM-DD）',
    'format.date-time': '请输入有效的日期时间',
    'format.time': '请输入有效时间',
    'format.email': '请输入有效的邮箱地址',
    'format.uri': '请输入有效的网址',
    'format.default': '格式不正确',
    oneOf: '不符合任何一种允许的形式',
    anyOf: '不符合任何一种允许的形式',
  },
  en: {
    required: 'This field is required',
    type: 'Must be {type}',
    enum: 'Choose a value from the list',
    const: 'Invalid value',
    minLength: 'At least {limit} characters',
    maxLength: 'At most {limit} characters',
    pattern: 'Invalid format',
    minimum: 'Must be at least {limit}',
    maximum: 'Must be at most {limit}',
    exclusiveMinimum: 'Must be greater than {limit}',
    exclusiveMaximum: 'Must be less than {limit}',
    multipleOf: 'Must be a multiple of {limit}',
    minItems: 'At least {limit} items',
    maxItems: 'At most {limit} items',
    uniqueItems: 'Items must be unique',
    'format.date': 'Enter a valid date (YYYY-MM-DD)',
    'format.date-time': 'Enter a valid date and time',
    'format.time': 'Enter a valid time',
    'format.email': 'Enter a valid email address',
    'format.uri': 'Enter a valid URL',
    'format.default': 'Invalid format',
    oneOf: 'Does not match any allowed form',
    anyOf: 'Does not match any allowed form',
  },
};

const FORMATS: Record<string, (s: string) => boolean> = {
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`)),
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(s) && !Number.isNaN(Date.parse(s)),
  time: (s) => /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/.test(s),
  email: (s) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s),
  uri: (s) => {
    try {
      return !!new URL(s).protocol;
    } catch {
      return false;
    }
  },
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const got = typeOf(v);
  if (want === 'number') return got === 'number' || got === 'integer';
  return want === got;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resolveRef(ref: string, root: Schema): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const tok = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[tok] : undefined;
  }
  return node && typeof node === 'object' ? (node as Schema) : undefined;
}

/** limitText shows a numeric limit, in yuan for money fields (stored in fen). */
function limitText(schema: Schema, limit: unknown): string {
  if (typeof limit === 'number' && schema.format === 'money') return fenToYuanString(limit).replace(/\.00$/, '');
  return String(limit);
}

/** validate appends to out every keyword of schema that data fails. */
export function validate(schema: Schema | boolean | undefined, data: unknown, root: Schema, lang: Lang, out: RawError[], path: string[] = [], sp = '#', depth = 0): void {
  if (schema === undefined || schema === true || depth > 64) return;
  const msg = (keyword: string, params: Record<string, unknown> = {}) => {
    let text = MESSAGES[lang][keyword] ?? MESSAGES[lang]['format.default'];
    for (const [k, v] of Object.entries(params)) text = text.replace(`{${k}}`, String(v));
    return text;
  };
  const fail = (keyword: string, params: Record<string, unknown> = {}, msgKey = keyword, at = path) =>
    out.push({ path: at, keyword, params, message: msg(msgKey, params), schemaPath: `${sp}/${keyword}` });
  if (schema === false) {
    fail('const');
    return;
  }
  if (typeof schema.$ref === 'string') {
    const target = resolveRef(schema.$ref, root);
    if (target) validate(target, data, root, lang, out, path, `${sp}/$ref`, depth + 1);
  }
  if (data === undefined) return;

  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  if (types.length > 0 && !types.some((t) => typeMatches(t, data))) {
    const name = types.filter((t) => t !== 'null').map((t) => TYPE_NAMES[lang][t] ?? t).join(' / ');
    fail('type', { type: name });
    return; // further keywords would only repeat the same problem
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => equal(e, data))) fail('enum');
  if ('const' in schema && !equal(schema.const, data)) fail('const');

  if (typeof data === 'string') {
    const len = Array.from(data).length;
    if (typeof schema.minLength === 'number' && len < schema.minLength) {
      if (schema.minLength === 1 && len === 0) fail('minLength', { limit: 1 }, 'required');
      else fail('minLength', { limit: schema.minLength });
    }
    if (typeof schema.maxLength === 'number' && len > schema.maxLength) fail('maxLength', { limit: schema.maxLength });
    if (typeof schema.pattern === 'string') {
      try {
        if (!new RegExp(schema.pattern, 'u').test(data)) fail('pattern', { pattern: schema.pattern });
      } catch {
        // A pattern the browser cannot parse is left to the server.
      }
    }
    if (typeof schema.format === 'string' && FORMATS[schema.format] && !FORMATS[schema.format](data)) {
      fail('format', { format: schema.format }, MESSAGES[lang][`format.${schema.format}`] ? `format.${schema.format}` : 'format.default');
    }
  }

  if (typeof data === 'number') {
    if (typeof schema.minimum === 'number' && data < schema.minimum) fail('minimum', { limit: limitText(schema, schema.minimum) });
    if (typeof schema.maximum === 'number' && data > schema.maximum) fail('maximum', { limit: limitText(schema, schema.maximum) });
    if (typeof schema.exclusiveMinimum === 'number' && data <= schema.exclusiveMinimum) fail('exclusiveMinimum', { limit: limitText(schema, schema.exclusiveMinimum) });
    if (typeof schema.exclusiveMaximum === 'number' && data >= schema.exclusiveMaximum) fail('exclusiveMaximum', { limit: limitText(schema, schema.exclusiveMaximum) });
    if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0) {
      const q = data / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9) fail('multipleOf', { limit: limitText(schema, schema.multipleOf) });
    }
  }

  if (Array.isArray(data)) {
    if (typeof schema.minItems === 'number' && data.length < schema.minItems) fail('minItems', { limit: schema.minItems });
    if (typeof schema.maxItems === 'number' && data.length > schema.maxItems) fail('maxItems', { limit: schema.maxItems });
    if (schema.uniqueItems === true && new Set(data.map((d) => JSON.stringify(d))).size !== data.length) fail('uniqueItems');
    const items = schema.items;
    if (Array.isArray(items)) data.forEach((d, i) => validate(items[i] as Schema, d, root, lang, out, [...path, String(i)], `${sp}/items/${i}`, depth + 1));
    else if (items && typeof items === 'object') data.forEach((d, i) => validate(items as Schema, d, root, lang, out, [...path, String(i)], `${sp}/items`, depth + 1));
  }

  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const obj = data as Record<string, unknown>;
    for (const name of Array.isArray(schema.required) ? schema.required : []) {
      if (obj[name] === undefined) fail('required', { missingProperty: name }, 'required', [...path, name]);
    }
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [name, sub] of Object.entries(props)) {
      if (obj[name] !== undefined) validate(sub, obj[name], root, lang, out, [...path, name], `${sp}/properties/${name}`, depth + 1);
    }
  }

  if (Array.isArray(schema.allOf)) schema.allOf.forEach((s, i) => validate(s as Schema, data, root, lang, out, path, `${sp}/allOf/${i}`, depth + 1));
  for (const kw of ['anyOf', 'oneOf'] as const) {
    const list = schema[kw];
    if (!Array.isArray(list) || list.length === 0) continue;
    const passing = list.filter((s) => {
      const errs: RawError[] = [];
      validate(s as Schema, data, root, lang, errs, path, sp, depth + 1);
      return errs.length === 0;
    }).length;
    if (kw === 'anyOf' ? passing === 0 : passing !== 1) fail(kw);
  }
}

function toRJSFErrors(raw: RawError[], uiSchema: UiSchema | undefined, schema: Schema): RJSFValidationError[] {
  return raw.map((e) => {
    const property = e.path.length ? `.${e.path.join('.')}` : '';
    let node: unknown = uiSchema;
    for (const p of e.path) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[p] : undefined;
    let sub: unknown = schema;
    for (const p of e.path) sub = sub && typeof sub === 'object' ? ((sub as Schema).properties as Record<string, unknown> | undefined)?.[p] : undefined;
    const title = ((node as UiSchema | undefined)?.['ui:title'] as string | undefined) ?? ((sub as Schema | undefined)?.title as string | undefined) ?? e.path[e.path.length - 1] ?? '';
    return { name: e.keyword, property, message: e.message, params: e.params, stack: title ? `${title}: ${e.message}` : e.message, schemaPath: e.schemaPath, title };
  });
}

/** createValidator returns an RJSF validator whose messages are in lang. */
export function createValidator(lang: Lang): ValidatorType {
  const v: ValidatorType = {
    validateFormData(formData: unknown, schema: RJSFSchema, customValidate?: CustomValidator, transformErrors?: ErrorTransformer, uiSchema?: UiSchema): ValidationData<unknown> {
      const raw: RawError[] = [];
      validate(schema as Schema, formData, schema as Schema, lang, raw);
      let errors = toRJSFErrors(raw, uiSchema, schema as Schema);
      if (typeof transformErrors === 'function') errors = transformErrors(errors, uiSchema);
      const errorSchema = toErrorSchema(errors);
      if (typeof customValidate !== 'function') return { errors, errorSchema };
      const data = getDefaultFormState(v, schema, formData, schema, true);
      const handler = customValidate(data, createErrorHandler(data), uiSchema, errorSchema);
      return validationDataMerge({ errors, errorSchema }, unwrapErrorHandler(handler));
    },
    isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
      const raw: RawError[] = [];
      validate(schema as Schema, formData, rootSchema as Schema, lang, raw);
      return raw.length === 0;
    },
    rawValidation<Result = unknown>(schema: RJSFSchema, formData?: unknown): { errors?: Result[]; validationError?: Error } {
      const raw: RawError[] = [];
      validate(schema as Schema, formData, schema as Schema, lang, raw);
      return { errors: raw as Result[] };
    },
  };
  return v;
}
