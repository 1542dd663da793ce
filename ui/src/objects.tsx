// The tenant's objects (for the menu) and a small cache of published definitions, shared
// by the list and form pages so moving between them does not refetch.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, enc } from './api/client.ts';
import type { ObjectEnvelope, ObjectSummary } from './api/types.ts';

interface ObjectsValue {
  objects: ObjectSummary[];
  loading: boolean;
  error: unknown;
  refresh: () => Promise<void>;
}

const ObjectsContext = createContext<ObjectsValue | null>(null);

export function isPublished(o: Pick<ObjectSummary, 'status' | 'publishedVersion'>): boolean {
  return (o.publishedVersion ?? 0) > 0 || o.status === 'published';
}

export function ObjectsProvider({ children }: { children: ReactNode }) {
  const [objects, setObjects] = useState<ObjectSummary[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  const refresh = useCallback(async () => {
    try {
      const res = await api.get<{ items: ObjectSummary[] }>('objects');
      setObjects(res.items ?? []);
      setError(null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const value = useMemo(() => ({ objects, loading, error, refresh }), [objects, loading, error, refresh]);
  return <ObjectsContext.Provider value={value}>{children}</ObjectsContext.Provider>;
}

export function useObjects(): ObjectsValue {
  const v = useContext(ObjectsContext);
  if (!v) throw new Error('useObjects outside ObjectsProvider');
  return v;
}

const published = new Map<string, Promise<ObjectEnvelope>>();

/** fetchPublished loads the published definition of an object, cached per published version. */
export function fetchPublished(key: string, publishedVersion?: number | null): Promise<ObjectEnvelope> {
  const ck = `${key}@${publishedVersion ?? '?'}`;
  let p = published.get(ck);
  if (!p) {
    p = api.get<ObjectEnvelope>(`objects/${enc(key)}`, { query: { published: 'true' } });
    published.set(ck, p);
    p.catch(() => published.delete(ck));
  }
  return p;
}

/** usePublishedDefinition loads the published definition of key for the records pages. */
export function usePublishedDefinition(key: string | undefined) {
  const { objects } = useObjects();
  const summary = objects.find((o) => o.key === key);
  const pv = summary?.publishedVersion;
  const [state, setState] = useState<{ key?: string; env?: ObjectEnvelope; error?: unknown }>({});
  useEffect(() => {
    if (!key) return;
    let cancelled = false;
    setState((s) => (s.key === key ? s : {}));
    fetchPublished(key, pv).then(
      (env) => !cancelled && setState({ key, env }),
      (error) => !cancelled && setState({ key, error }),
    );
    return () => {
      cancelled = true;
    };
  }, [key, pv]);
  const current = state.key === key ? state : {};
  return { summary, env: current.env, def: current.env?.definition, error: current.error, loading: !current.env && !current.error };
}
