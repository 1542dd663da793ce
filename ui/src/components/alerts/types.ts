// Types of the alert, inbox and plugin routes (docs/api.md, "Alerts").
import type { Localized } from '../../i18n/index.tsx';
import type { ProblemError } from '../../api/types.ts';

export interface AlertDefinition {
  key?: string;
  label?: Localized;
  description?: Localized;
  template?: string;
  source?: 'record' | 'progress';
  object?: string;
  onChange?: boolean;
  events?: string[];
  schedule?: string;
  metric?: string;
  grain?: string;
  nodes?: string;
  pipeline?: string;
  condition?: string;
  title?: Record<string, string>;
  message?: Record<string, string>;
  severity?: 'info' | 'warning' | 'critical';
  recipients?: { owner?: boolean; managers?: boolean; roles?: string[]; users?: string[] };
  channels?: string[];
  dedupeKey?: string;
  cooldownMinutes?: number;
  link?: string;
}

export interface AlertCheckResult {
  ok: boolean;
  errors: ProblemError[];
}

export interface AlertRunResult {
  evaluated: number;
  matched: number;
  fired: number;
}

export interface Delivery {
  id: string;
  event: string;
  alert: string;
  channel: string;
  module: string;
  recipient?: string;
  status: 'pending' | 'sent' | 'dead';
  attempts: number;
  nextAt?: string;
  lastError?: string;
  title: string;
  createdAt: string;
  sentAt?: string;
}

export interface InboxItem {
  id: string;
  title: string;
  body: string;
  texts?: Record<string, { title: string; body: string }>;
  severity: string;
  link?: string;
  alert?: string;
  read: boolean;
  createdAt: string;
}

export interface Inbox {
  items: InboxItem[];
  unread: number;
  next?: string;
}

export interface JSONSchemaLite {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JSONSchemaLite>;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  additionalProperties?: boolean | JSONSchemaLite;
}

export interface PluginModule {
  id: string;
  namespace: 'notify' | 'connect' | string;
  label: Record<string, string>;
  schema: JSONSchemaLite | null;
  secrets: string[];
  alwaysOn: boolean;
}

export interface PluginInstance {
  id: string;
  module: string;
  label?: string;
  enabled: boolean;
  config: Record<string, unknown>;
  secretsSet: string[];
  alwaysOn?: boolean;
  version: number;
  updatedAt?: string;
}

/** MASKED stands for a stored secret in every answer; sending it back keeps the secret. */
export const MASKED = '********';
