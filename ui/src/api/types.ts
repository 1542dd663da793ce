import type { Localized } from '../i18n/index.tsx';

/** ProblemError is one entry of a problem's errors[]: a field error or a formula error. */
export interface ProblemError {
  pointer?: string;
  code?: string;
  message: string;
  line?: number;
  column?: number;
  snippet?: string;
  hint?: string;
}

/** Problem is an RFC 9457 problem+json body (docs/api.md "Errors"). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: ProblemError[];
  [extra: string]: unknown;
}

export interface Me {
  id: string;
  username: string;
  displayName?: string;
  roles: string[];
  teams?: unknown[];
}

export interface LoginResponse {
  token: string;
  expiresAt?: string;
  user?: Me;
}

export type ObjectStatus = 'draft' | 'published';

export interface ObjectSummary {
  key: string;
  label: Localized;
  status: ObjectStatus;
  version: number;
  publishedVersion?: number | null;
  updatedAt?: string;
}

/** JSONSchema is the subset of JSON Schema the UI reads; the rest passes through to RJSF. */
export interface JSONSchema {
  type?: string | string[];
  format?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  oneOf?: JSONSchema[];
  const?: unknown;
  readOnly?: boolean;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  minimum?: number;
  maximum?: number;
  [k: string]: unknown;
}

/** FieldConfig is definition.fields[name]: presentation and rules of one field. */
export interface FieldConfig {
  label?: Localized;
  placeholder?: Localized;
  help?: Localized;
  description?: Localized;
  widget?: string;
  computed?: string;
  visibleIf?: string;
  requiredIf?: string;
  /** Optional display labels of enum values (not yet in the API contract; see docs/ui.md). */
  enumLabels?: Record<string, Localized>;
  [k: string]: unknown;
}

export interface ObjectDefinition {
  key: string;
  label: Localized;
  titleField?: string;
  schema: JSONSchema;
  fields?: Record<string, FieldConfig>;
  order?: string[];
  [k: string]: unknown;
}

export interface ObjectEnvelope {
  key: string;
  version: number;
  status: ObjectStatus;
  publishedVersion?: number | null;
  definition: ObjectDefinition;
  updatedAt?: string;
  updatedBy?: string;
}

export interface RecordDoc {
  id: string;
  object: string;
  version: number;
  objectVersion?: number;
  owner?: string;
  createdAt?: string;
  updatedAt?: string;
  createdBy?: string;
  updatedBy?: string;
  data: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  next?: string | null;
}

export type RuleKind = 'computed' | 'visibleIf' | 'requiredIf' | 'expression';

export interface RuleCheckResult {
  ok: boolean;
  type?: string;
  value?: unknown;
  reads?: Record<string, unknown>;
  errors?: ProblemError[];
}
