import type { ErrorSchema } from '@rjsf/utils';
import { ApiError } from '../api/client.ts';
import type { ProblemError } from '../api/types.ts';
import type { TFunc } from '../i18n/index.tsx';

/** problemText is the one-line message to show for a failed call. */
export function problemText(err: unknown, t: TFunc): string {
  if (!(err instanceof ApiError)) return (err as Error)?.message || t('common.unknownError');
  const { status, problem } = err;
  const detail = problem.detail || problem.title;
  if (status === 0) return t('common.networkError');
  if (status === 429 || status === 503) {
    const base = detail || (status === 503 ? t('common.serverUnavailable') : t('login.rateLimited'));
    return err.retryAfter !== undefined ? t('common.withRetry', { text: base, retry: t('common.retryAfter', { seconds: err.retryAfter }) }) : base;
  }
  if (status === 403) return detail || t('common.forbidden');
  if (status === 404) return detail || t('common.notFound');
  return detail || t('common.unknownError');
}

/** decodePointer splits a JSON Pointer (RFC 6901) into its reference tokens. */
export function decodePointer(pointer: string | undefined): string[] {
  if (!pointer || pointer === '/') return [];
  const p = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * toErrorSchema places each server error on the field its pointer names, in RJSF's
 * ErrorSchema shape ({amount: {__errors: ["…"]}}), so the message renders under that
 * field. Errors whose pointer names no known field are returned in `rest`.
 */
export function toErrorSchema(errors: ProblemError[] | undefined, knownFields: Set<string>): { schema: ErrorSchema; rest: ProblemError[] } {
  const schema: Record<string, unknown> = {};
  const rest: ProblemError[] = [];
  for (const e of errors ?? []) {
    const tokens = decodePointer(e.pointer);
    if (tokens.length === 0 || !knownFields.has(tokens[0])) {
      rest.push(e);
      continue;
    }
    let node = schema;
    for (const tok of tokens) {
      node[tok] = (node[tok] as Record<string, unknown>) ?? {};
      node = node[tok] as Record<string, unknown>;
    }
    const list = (node.__errors as string[]) ?? [];
    list.push(e.message);
    node.__errors = list;
  }
  return { schema: schema as ErrorSchema, rest };
}
