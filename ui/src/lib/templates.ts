// Template bundles in the browser (issue 5): colours and labels of install actions and diff
// statuses, the server's English reasons in the UI language, short renderings of JSON values,
// the definition a 422 pointer lands in, and saving a bundle as a file.
import type { TFunc } from '../i18n/index.tsx';
import type { MsgKey } from '../i18n/messages.ts';
import type { ObjectDefinition, TemplateAction, TemplateBundle, TemplateDiffEntry, TemplateSummary } from '../api/types.ts';
import { decodePointer } from './problem.ts';

/** BUNDLE_FORMAT is the only bundle format the server reads (engine/templates.Format). */
export const BUNDLE_FORMAT = 'stride.template/v1';

/** ACTION_COLOR colours install actions: green adds, blue upgrades, red needs a decision, orange overwrites. */
export const ACTION_COLOR: Record<TemplateAction, string> = {
  create: 'green',
  upgrade: 'blue',
  unchanged: 'default',
  conflict: 'red',
  overwrite: 'orange',
};

/** ACTIONS is the order actions are summarised in. */
export const ACTIONS: TemplateAction[] = ['create', 'upgrade', 'overwrite', 'conflict', 'unchanged'];

/** WRITES are the actions that write to the tenant; a dry run without any has nothing to install. */
export const WRITES = new Set<string>(['create', 'upgrade', 'overwrite']);

export const STATUS_COLOR: Record<TemplateDiffEntry['status'], string> = {
  added: 'green',
  changed: 'orange',
  removed: 'default',
};

/** SECTIONS are the bundle sections that hold definitions, in apply order, with their kind. */
export const SECTIONS = [
  { section: 'objects', kind: 'object' },
  { section: 'pipelines', kind: 'pipeline' },
  { section: 'metrics', kind: 'metric' },
  { section: 'targetPlans', kind: 'target_plan' },
  { section: 'commissionPlans', kind: 'commission_plan' },
  { section: 'scorecards', kind: 'scorecard' },
] as const;

/** OTHER_SECTIONS are parts of a bundle that apply does not write yet; the preview lists them. */
export const OTHER_SECTIONS = ['reports', 'dashboards', 'alerts', 'plugins', 'org', 'demo'] as const;

/** tr translates a key built at run time, falling back to the raw value when it has no entry. */
export function tr(t: TFunc, key: string, fallback: string): string {
  const s = t(key as MsgKey);
  return s === key ? fallback : s;
}

export const kindLabel = (t: TFunc, kind: string) => tr(t, `templates.kind.${kind}`, kind);
export const actionLabel = (t: TFunc, action: string) => tr(t, `templates.action.${action}`, action);
export const statusLabel = (t: TFunc, status: string) => tr(t, `templates.diff.status.${status}`, status);

/**
 * reasonText puts the server's reasons (engine/templates.classify, in English) into the UI
 * language; a reason it does not know is shown as sent.
 */
export function reasonText(reason: string | undefined, t: TFunc): string {
  if (!reason) return '';
  if (reason === 'exists in the tenant and was not installed by a template') return t('templates.reason.foreign');
  if (reason === 'local edits overwritten (force)') return t('templates.reason.forced');
  const m = /^edited in the tenant since template (.*) installed it$/.exec(reason);
  if (m) return t('templates.reason.edited', { template: m[1] });
  return reason;
}

/** countActions tallies a report's changes by action. */
export function countActions(changes: { action: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of changes) out[c.action] = (out[c.action] ?? 0) + 1;
  return out;
}

/** shortJSON renders a value for a one-line cell: strings as they are, the rest as compact JSON. */
export function shortJSON(v: unknown, max = 120): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * pointerTarget names the definition a bundle pointer falls in ("/bundle/metrics/0/value" →
 * {kind: metric, key: m1, rest: "/value"}), so an error can say which definition it is about.
 * The pointer may or may not carry the request's "/bundle" prefix.
 */
export function pointerTarget(bundle: unknown, pointer: string | undefined): { kind: string; key?: string; rest: string } | null {
  const tokens = decodePointer(pointer);
  if (tokens[0] === 'bundle') tokens.shift();
  const sec = SECTIONS.find((s) => s.section === tokens[0]);
  if (!sec || tokens.length < 2 || !bundle || typeof bundle !== 'object') return null;
  const list = (bundle as Record<string, unknown>)[sec.section];
  const item = Array.isArray(list) ? list[Number(tokens[1])] : undefined;
  const key = item && typeof item === 'object' ? (item as { key?: unknown }).key : undefined;
  return { kind: sec.kind, key: typeof key === 'string' ? key : undefined, rest: tokens.length > 2 ? `/${tokens.slice(2).join('/')}` : '' };
}

/** summaryOf counts what a whole bundle holds, in the gallery's shape. */
export function summaryOf(b: TemplateBundle): TemplateSummary['contains'] {
  const keys = (defs: { key?: unknown }[] | undefined) => (defs ?? []).map((d) => String(d.key ?? ''));
  return { objects: keys(b.objects), pipelines: keys(b.pipelines), metrics: keys(b.metrics), targetPlans: keys(b.targetPlans) };
}

/** isMoneyField says whether an object's field holds money in 分 (format or widget money). */
export function isMoneyField(obj: ObjectDefinition | undefined, field: string | undefined): boolean {
  if (!obj || !field) return false;
  const schema = obj.schema?.properties?.[field];
  return schema?.format === 'money' || obj.fields?.[field]?.widget === 'money';
}

/** downloadJSON saves a value as a pretty-printed JSON file through a temporary object URL. */
export function downloadJSON(value: unknown, filename: string) {
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke later: Chromium starts the download asynchronously after the click.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** safeFileName keeps a bundle name usable as a file name. */
export function safeFileName(name: string | undefined): string {
  const s = (name ?? '').trim().replace(/[\\/:*?"<>|\s]+/g, '_');
  return s || 'stride';
}
