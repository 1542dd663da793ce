// A thin fetch wrapper for the Stride API (docs/api.md): Bearer token from localStorage,
// problem+json errors surfaced as ApiError, and one place that reacts to 401.
import { currentLang } from '../i18n/index.tsx';
import type { Problem } from './types.ts';

const TOKEN_KEY = 'stride.token';

export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string) => localStorage.setItem(TOKEN_KEY, token),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** ApiError is a failed call: status 0 means the server could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** retryAfter is the Retry-After header in seconds, when the server sent one (429, 503). */
  readonly retryAfter?: number;

  constructor(status: number, problem: Problem, retryAfter?: number) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

let unauthorizedHandler: (() => void) | null = null;

/** onUnauthorized registers what happens when any authenticated call answers 401. */
export function onUnauthorized(fn: (() => void) | null) {
  unauthorizedHandler = fn;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** anonymous skips the token and the 401 redirect (login). */
  anonymous?: boolean;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

function buildURL(path: string, query?: RequestOptions['query']): string {
  const url = path.startsWith('/') ? path : `/api/v1/${path}`;
  if (!query) return url;
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') qs.append(k, String(v));
  }
  const s = qs.toString();
  return s ? `${url}?${s}` : url;
}

function parseRetryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const n = Number(h);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    'Accept-Language': currentLang() === 'zh-CN' ? 'zh-CN,zh;q=0.9,en;q=0.5' : 'en,zh-CN;q=0.5',
    ...opts.headers,
  };
  const token = tokenStore.get();
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }

  let res: Response;
  try {
    res = await fetch(buildURL(path, opts.query), { method, headers, body, signal: opts.signal });
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new ApiError(0, { title: 'network', detail: (err as Error)?.message });
  }

  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }

  if (!res.ok) {
    const problem: Problem =
      data && typeof data === 'object' ? (data as Problem) : { status: res.status, title: res.statusText || `HTTP ${res.status}`, detail: typeof data === 'string' ? data.slice(0, 300) : undefined };
    if (problem.status === undefined) problem.status = res.status;
    if (res.status === 401 && !opts.anonymous) unauthorizedHandler?.();
    throw new ApiError(res.status, problem, parseRetryAfter(res.headers.get('Retry-After')));
  }
  return { status: res.status, data: data as T, headers: res.headers };
}

export const api = {
  get: <T,>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts).then((r) => r.data),
  post: <T,>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, { ...opts, body }).then((r) => r.data),
  put: <T,>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PUT', path, { ...opts, body }).then((r) => r.data),
  patch: <T,>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('PATCH', path, { ...opts, body }).then((r) => r.data),
  del: (path: string, opts?: RequestOptions) => request<void>('DELETE', path, opts).then(() => undefined),
};

/** enc escapes one path segment. */
export const enc = encodeURIComponent;

/** ifMatch builds an If-Match header for a version (a strong ETag, quoted). */
export function ifMatch(version: number | string): Record<string, string> {
  return { 'If-Match': `"${version}"` };
}

/**
 * newIdempotencyKey returns a random UUID v4. crypto.randomUUID exists only in secure
 * contexts, and a self-hosted Stride is often reached over plain HTTP on a LAN address,
 * so fall back to getRandomValues, which is available everywhere.
 */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function' && window.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
