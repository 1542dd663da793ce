// The tenant's objects and pipelines (for the menu) and a small cache of published
// definitions, shared by the list, form and board pages so moving between them does not refetch.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, enc } from './api/client.ts';
import type { ConfigEnvelope, ConfigSummary, ObjectEnvelope, ObjectSummary, PipelineDefinition } from './api/types.ts';

interface ObjectsValue {
  objects: ObjectSummary[];
  /** pipelines lists the pipeline configurations; empty when the server has none (or no such endpoint). */
  pipelines: ConfigSummary[];
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
  const [pipelines, setPipelines] = useState<ConfigSummary[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  const refresh = useCallback(async () => {
    try {
      // Pipelines are optional for the menu: a failure there must not hide the objects.
      const [res, pl] = await Promise.all([
        api.get<{ items: ObjectSummary[] }>('objects'),
        api.get<{ items: ConfigSummary[] }>('pipelines').catch(() => ({ items: [] as ConfigSummary[] })),
      ]);
      setObjects(res.items ?? []);
      setPipelines(pl.items ?? []);
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

  const value = useMemo(() => ({ objects, pipelines, loading, error, refresh }), [objects, pipelines, loading, error, refresh]);
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

const publishedPipelines = new Map<string, Promise<ConfigEnvelope<PipelineDefinition>>>();

/** fetchPublishedPipeline loads the version in force of a pipeline, cached per published version. */
export function fetchPublishedPipeline(key: string, publishedVersion?: number | null): Promise<ConfigEnvelope<PipelineDefinition>> {
  const ck = `${key}@${publishedVersion ?? '?'}`;
  let p = publishedPipelines.get(ck);
  if (!p) {
    p = api.get<ConfigEnvelope<PipelineDefinition>>(`pipelines/${enc(key)}`, { query: { published: 'true' } });
    publishedPipelines.set(ck, p);
    p.catch(() => publishedPipelines.delete(ck));
  }
  return p;
}

/** usePipelinesOf lists the published pipelines governing records of an object (for links from its list). */
export function usePipelinesOf(object: string | undefined): PipelineDefinition[] {
  const { pipelines } = useObjects();
  const [defs, setDefs] = useState<PipelineDefinition[]>([]);
  useEffect(() => {
    let cancelled = false;
    const pub = pipelines.filter(isPublished);
    if (!object || pub.length === 0) {
      setDefs([]);
      return;
    }
    Promise.all(pub.filter((p) => !p.object || p.object === object).map((p) => fetchPublishedPipeline(p.key, p.publishedVersion).then((e) => e.definition, () => null))).then((list) => {
      if (!cancelled) setDefs(list.filter((d): d is PipelineDefinition => !!d && d.object === object));
    });
    return () => {
      cancelled = true;
    };
  }, [object, pipelines]);
  return defs;
}
