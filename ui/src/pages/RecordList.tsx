import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { Alert, Button, Card, Empty, Grid, List, Select, Space, Table, Tag, Typography, type TableProps } from 'antd';
import { AppstoreOutlined, PlusOutlined, ReloadOutlined } from '@ant-design/icons';
import { api, enc } from '../api/client.ts';
import type { ObjectDefinition, Page, RecordDoc } from '../api/types.ts';
import { loc, useI18n, type Lang, type TFunc } from '../i18n/index.tsx';
import { usePipelinesOf, usePublishedDefinition } from '../objects.tsx';
import { enumColor, enumLabel, enumValues, fieldConfig, fieldLabel, fieldOrder, formatDateTime, formatValue, isMoney, properties, titleField } from '../lib/definition.ts';
import { LoadError, InlineError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

const PAGE_SIZE = 20;
const RESERVED = new Set(['sort', 'limit', 'cursor']);
const MAX_COLUMNS = 8;

function listColumns(def: ObjectDefinition): string[] {
  const props = properties(def);
  const title = titleField(def);
  const names = fieldOrder(def).filter((n) => {
    const s = props[n];
    if (s.type === 'object' || s.type === 'array') return false;
    if (s.type === 'string' && (((s.maxLength as number) ?? 0) > 500 || fieldConfig(def, n).widget === 'textarea')) return false;
    return true;
  });
  const ordered = title ? [title, ...names.filter((n) => n !== title)] : names;
  return ordered.slice(0, MAX_COLUMNS);
}

function filterFields(def: ObjectDefinition): string[] {
  const props = properties(def);
  return fieldOrder(def)
    .filter((n) => enumValues(props[n]) && !RESERVED.has(n))
    .slice(0, 3);
}

function Cell({ def, name, value, lang, t }: { def: ObjectDefinition; name: string; value: unknown; lang: Lang; t: TFunc }) {
  const values = enumValues(properties(def)[name]);
  if (values && value !== undefined && value !== null && value !== '') {
    return <Tag color={enumColor(values, value)}>{enumLabel(def, name, value, lang)}</Tag>;
  }
  const text = formatValue(def, name, value, lang, t);
  return text ? <>{text}</> : <Typography.Text type="secondary">—</Typography.Text>;
}

export default function RecordListPage() {
  const { object = '' } = useParams();
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const highlight = (location.state as { highlight?: string } | null)?.highlight;
  const screens = Grid.useBreakpoint();
  const mobile = !screens.md;
  const [params, setParams] = useSearchParams();
  const { def, summary, error: defError } = usePublishedDefinition(object);
  const boards = usePipelinesOf(object);

  const [items, setItems] = useState<RecordDoc[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reqId = useRef(0);

  const query = useMemo(() => {
    const q: Record<string, string> = {};
    params.forEach((v, k) => {
      if (k !== 'cursor' && k !== 'limit' && v !== '') q[k] = v;
    });
    return q;
  }, [params]);
  const queryKey = JSON.stringify(query);

  const load = useCallback(
    async (cursor?: string) => {
      const id = ++reqId.current;
      setLoading(true);
      setError(null);
      try {
        const res = await api.get<Page<RecordDoc>>(`records/${enc(object)}`, { query: { ...query, limit: PAGE_SIZE, cursor } });
        if (id !== reqId.current) return;
        setItems((prev) => (cursor ? [...prev, ...(res.items ?? [])] : (res.items ?? [])));
        setNext(res.next || null);
      } catch (e) {
        if (id === reqId.current) setError(e);
      } finally {
        if (id === reqId.current) setLoading(false);
      }
    },
    // queryKey stands for query.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [object, queryKey],
  );

  useEffect(() => {
    if (!def) return;
    setItems([]);
    setNext(null);
    void load();
  }, [def, load]);

  const objLabel = (def && loc(def.label, lang)) || loc(summary?.label, lang) || object;

  const setParam = (k: string, v: string | undefined) => {
    const p = new URLSearchParams(params);
    if (v === undefined || v === '') p.delete(k);
    else p.set(k, v);
    setParams(p, { replace: true });
  };

  const columns = useMemo<TableProps<RecordDoc>['columns']>(() => {
    if (!def) return [];
    const sort = params.get('sort') ?? '';
    const title = titleField(def);
    const cols: NonNullable<TableProps<RecordDoc>['columns']> = listColumns(def).map((name) => {
      const money = isMoney(properties(def)[name], fieldConfig(def, name));
      return {
        key: name,
        dataIndex: ['data', name],
        title: fieldLabel(def, name, lang),
        align: money ? ('right' as const) : undefined,
        sorter: true,
        sortOrder: sort === name ? ('ascend' as const) : sort === `-${name}` ? ('descend' as const) : null,
        ellipsis: name !== title,
        render: (value: unknown, rec: RecordDoc) =>
          name === title ? (
            <Link to={`/records/${enc(object)}/${enc(rec.id)}`} onClick={(e) => e.stopPropagation()}>
              {formatValue(def, name, value, lang, t) || t('records.untitled')}
            </Link>
          ) : (
            <Cell def={def} name={name} value={value} lang={lang} t={t} />
          ),
      };
    });
    cols.push({
      key: '_updatedAt',
      dataIndex: 'updatedAt',
      title: t('records.updatedAt'),
      width: 150,
      render: (v: string) => <Typography.Text type="secondary">{formatDateTime(v)}</Typography.Text>,
    });
    return cols;
  }, [def, lang, t, params, object]);

  const onTableChange: TableProps<RecordDoc>['onChange'] = (_p, _f, sorter) => {
    const s = Array.isArray(sorter) ? sorter[0] : sorter;
    const key = s?.columnKey ? String(s.columnKey) : '';
    if (!s?.order || !key || key.startsWith('_')) setParam('sort', undefined);
    else setParam('sort', s.order === 'descend' ? `-${key}` : key);
  };

  if (defError) return <LoadError error={defError} />;
  if (!def) return <FullPageSpin />;

  const filters = filterFields(def);
  const hasFilters = filters.some((f) => params.get(f));
  const title = titleField(def);
  const newUrl = `/records/${enc(object)}/new`;

  return (
    <div>
      <div className="page-header">
        <h1>{objLabel}</h1>
        <Space>
          <Button icon={<ReloadOutlined />} onClick={() => void load()} aria-label={t('common.reload')} />
          {boards.map((p) => (
            <Link key={p.key} to={`/pipelines/${enc(p.key)}/board`}>
              <Button icon={<AppstoreOutlined />} data-testid={`board-link-${p.key}`}>
                {boards.length > 1 ? (loc(p.label, lang) ?? p.key) : t('board.title')}
              </Button>
            </Link>
          ))}
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate(newUrl)} data-testid="new-record">
            {t('common.new')}
          </Button>
        </Space>
      </div>

      <Card styles={{ body: { padding: mobile ? 12 : 16 } }}>
        {filters.length > 0 && (
          <Space wrap style={{ marginBottom: 12 }}>
            {filters.map((f) => (
              <Select
                key={f}
                allowClear
                style={{ minWidth: 140 }}
                placeholder={fieldLabel(def, f, lang)}
                value={params.get(f) ?? undefined}
                onChange={(v) => setParam(f, v as string | undefined)}
                options={(enumValues(properties(def)[f]) ?? []).map((v) => ({ value: String(v), label: `${fieldLabel(def, f, lang)}：${enumLabel(def, f, v, lang)}` }))}
                data-testid={`filter-${f}`}
              />
            ))}
            {hasFilters && (
              <Button type="link" onClick={() => setParams(new URLSearchParams(params.get('sort') ? { sort: params.get('sort')! } : {}), { replace: true })}>
                {t('common.reset')}
              </Button>
            )}
          </Space>
        )}
        {error != null && <InlineError error={error} />}

        {mobile ? (
          <List
            loading={loading && items.length === 0}
            dataSource={items}
            locale={{ emptyText: <Empty description={t('records.empty', { object: objLabel })} /> }}
            renderItem={(rec) => (
              <Card size="small" className="record-card" hoverable onClick={() => navigate(`/records/${enc(object)}/${enc(rec.id)}`)}>
                <Typography.Text strong>{(title && formatValue(def, title, rec.data?.[title], lang, t)) || t('records.untitled')}</Typography.Text>
                <div style={{ marginTop: 6, display: 'flex', flexWrap: 'wrap', gap: '4px 12px' }}>
                  {listColumns(def)
                    .filter((n) => n !== title && rec.data?.[n] !== undefined && rec.data?.[n] !== null && rec.data?.[n] !== '')
                    .slice(0, 4)
                    .map((n) => (
                      <span key={n} style={{ fontSize: 13 }}>
                        <Typography.Text type="secondary">{fieldLabel(def, n, lang)}：</Typography.Text>
                        <Cell def={def} name={n} value={rec.data?.[n]} lang={lang} t={t} />
                      </span>
                    ))}
                </div>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {formatDateTime(rec.updatedAt)}
                </Typography.Text>
              </Card>
            )}
          />
        ) : (
          <Table<RecordDoc>
            rowKey="id"
            size="middle"
            columns={columns}
            dataSource={items}
            loading={loading && items.length === 0}
            pagination={false}
            onChange={onTableChange}
            scroll={{ x: 'max-content' }}
            showSorterTooltip={{ title: t('records.sortHint') }}
            rowClassName={(r) => (r.id === highlight ? 'ant-table-row-selected row-clickable' : 'row-clickable')}
            onRow={(rec) => ({ onClick: () => navigate(`/records/${enc(object)}/${enc(rec.id)}`) })}
            locale={{
              emptyText: (
                <Empty description={t('records.empty', { object: objLabel })}>
                  <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate(newUrl)}>
                    {t('records.new', { object: objLabel })}
                  </Button>
                </Empty>
              ),
            }}
          />
        )}

        {items.length > 0 && (
          <div style={{ display: 'flex', justifyContent: 'center', alignItems: 'center', gap: 12, marginTop: 16 }}>
            <Typography.Text type="secondary">{t('common.loadedCount', { count: items.length })}</Typography.Text>
            {next ? (
              <Button onClick={() => void load(next)} loading={loading} data-testid="load-more">
                {t('common.loadMore')}
              </Button>
            ) : (
              <Typography.Text type="secondary">· {t('common.noMore')}</Typography.Text>
            )}
          </div>
        )}
      </Card>
      {summary && !summary.publishedVersion && summary.status !== 'published' && <Alert type="info" title={t('records.notPublished')} />}
    </div>
  );
}
