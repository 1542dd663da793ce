// Kanban of one pipeline (docs/api.md "Pipelines"): columns are the published stages, cards
// the records in each stage (GET /records/{object}?{stageField}={stage}&sort=-updatedAt).
// Dragging a card (native HTML5 drag and drop) or the card's "移动到…" menu (phones) asks the
// server to move it (POST …/transition with If-Match); a refusal stays on the card with the
// stage's message and the missing fields, and "补充信息" opens the record form to fill them.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { Alert, App, Badge, Breadcrumb, Button, Dropdown, Empty, Grid, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import { ClockCircleOutlined, CloseOutlined, EditOutlined, FunnelPlotOutlined, ReloadOutlined, SwapOutlined, UnorderedListOutlined, UserOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../api/client.ts';
import type { ObjectDefinition, Page, PipelineDefinition, ProblemError, RecordDoc, StageDef } from '../api/types.ts';
import { loc, useI18n, type Lang, type TFunc } from '../i18n/index.tsx';
import type { MsgKey } from '../i18n/messages.ts';
import { fetchPublishedPipeline, useObjects, usePublishedDefinition } from '../objects.tsx';
import { fieldConfig, fieldLabel, formatValue, isMoney, properties, titleField } from '../lib/definition.ts';
import { formatMoney } from '../lib/money.ts';
import { daysSince } from '../lib/period.ts';
import { decodePointer, problemText } from '../lib/problem.ts';
import { useAuth } from '../auth.tsx';
import { LoadError } from '../components/PageState.tsx';
import { FullPageSpin } from '../components/FullPageSpin.tsx';

const PAGE = 50;

interface Column {
  items: RecordDoc[];
  next?: string | null;
  loading: boolean;
  error?: unknown;
}

/** Refusal is why the server would not move a card, kept on the card until it moves or is dismissed. */
interface Refusal {
  to: string;
  text: string;
  missing: string[];
  errors: ProblemError[];
}

/** amountField is the field a card shows as its amount: "amount" if it is money, else the first money field. */
function amountField(def: ObjectDefinition | undefined): string | undefined {
  const props = properties(def);
  if (props.amount && isMoney(props.amount, fieldConfig(def, 'amount'))) return 'amount';
  return Object.keys(props).find((n) => isMoney(props[n], fieldConfig(def, n)));
}

/** enteredStageAt is when the record entered its current stage, from meta.stageHistory. */
function enteredStageAt(rec: RecordDoc, stage: string): string | undefined {
  const hist = rec.meta?.stageHistory;
  if (!Array.isArray(hist)) return undefined;
  for (let i = hist.length - 1; i >= 0; i--) {
    if (hist[i]?.stage === stage && !hist[i].exitedAt) return hist[i].enteredAt;
  }
  return undefined;
}

function stageLabel(s: StageDef | undefined, key: string, lang: Lang): string {
  return (s && loc(s.label, lang)) || key;
}

/** REFUSALS are the transition refusal codes the UI words itself (the server's detail may be in English). */
const REFUSALS: Record<string, MsgKey> = {
  required_fields: 'board.code.required_fields',
  backward_move: 'board.code.backward_move',
  terminal_stage: 'board.code.terminal_stage',
  unknown_stage: 'board.code.unknown_stage',
  same_stage: 'board.code.same_stage',
  no_pipeline: 'board.code.no_pipeline',
  guard_error: 'board.code.guard_error',
  validation: 'board.code.validation',
};

/**
 * refusalOf reads a 422 transition problem: the stage's own message (stageMessage) in the UI
 * language when the guard refused, else a message of ours for the code, else the server's
 * detail; and the fields the errors point at (everything but /to).
 */
function refusalOf(e: unknown, to: string, lang: Lang, t: TFunc): Refusal {
  const problem = isApiError(e) ? e.problem : undefined;
  const errors = problem?.errors ?? [];
  const sm = problem?.stageMessage as Record<string, string> | undefined;
  const code = problem?.code ?? '';
  const text = (sm && loc(sm, lang)) || (REFUSALS[code] ? t(REFUSALS[code]) : undefined) || problem?.detail || t('board.refused');
  const missing = errors.map((x) => decodePointer(x.pointer)[0]).filter((f): f is string => !!f && f !== 'to');
  return { to, text, missing: [...new Set(missing)], errors };
}

export default function PipelineBoardPage() {
  const { key = '' } = useParams();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const screens = Grid.useBreakpoint();
  const mobile = !screens.md;
  const { me } = useAuth();
  const { pipelines } = useObjects();
  const summary = pipelines.find((p) => p.key === key);

  const [pipe, setPipe] = useState<PipelineDefinition | null>(null);
  const [pipeError, setPipeError] = useState<unknown>(null);
  const { def, error: defError } = usePublishedDefinition(pipe?.object);
  const [cols, setCols] = useState<Record<string, Column>>({});
  const [refusals, setRefusals] = useState<Record<string, Refusal>>({});
  const [moving, setMoving] = useState<string | null>(null);
  const [dragging, setDragging] = useState<{ id: string; from: string } | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const colsRef = useRef(cols);
  colsRef.current = cols;
  // One counter per column: a reload answered after a newer one is dropped.
  const seq = useRef<Record<string, number>>({});

  const loadPipeline = useCallback(() => {
    setPipeError(null);
    fetchPublishedPipeline(key, summary?.publishedVersion).then(
      (env) => setPipe(env.definition),
      (e) => setPipeError(e),
    );
  }, [key, summary?.publishedVersion]);
  useEffect(() => {
    setPipe(null);
    loadPipeline();
  }, [loadPipeline]);

  const stageField = pipe?.stageField || 'stage';
  const object = pipe?.object ?? '';

  const loadColumn = useCallback(
    async (stage: string, more = false) => {
      if (!object) return;
      const prev = colsRef.current[stage];
      const n = (seq.current[stage] = (seq.current[stage] ?? 0) + 1);
      setCols((c) => ({ ...c, [stage]: { items: prev?.items ?? [], next: prev?.next, loading: true } }));
      try {
        const page = await api.get<Page<RecordDoc>>(`records/${enc(object)}`, {
          query: { [stageField]: stage, sort: '-updatedAt', limit: PAGE, cursor: more ? (prev?.next ?? undefined) : undefined },
        });
        if (seq.current[stage] !== n) return;
        setCols((c) => ({ ...c, [stage]: { items: more ? [...(c[stage]?.items ?? []), ...(page.items ?? [])] : (page.items ?? []), next: page.next, loading: false } }));
      } catch (e) {
        if (seq.current[stage] !== n) return;
        setCols((c) => ({ ...c, [stage]: { items: c[stage]?.items ?? [], next: c[stage]?.next, loading: false, error: e } }));
      }
    },
    [object, stageField],
  );

  const loadAll = useCallback(() => {
    for (const s of pipe?.stages ?? []) void loadColumn(s.key);
  }, [pipe, loadColumn]);
  useEffect(() => {
    setCols({});
    loadAll();
  }, [loadAll]);

  const stages = pipe?.stages ?? [];
  const byKey = useMemo(() => new Map(stages.map((s) => [s.key, s])), [stages]);
  const amountKey = amountField(def);
  const tf = titleField(def);

  const move = async (rec: RecordDoc, from: string, to: string) => {
    if (from === to || moving) return;
    setMoving(rec.id);
    try {
      const res = await request<RecordDoc>('POST', `records/${enc(object)}/${enc(rec.id)}/transition`, { body: { to }, headers: ifMatch(rec.version) });
      const moved = res.data && typeof res.data === 'object' && res.data.id ? res.data : { ...rec, data: { ...rec.data, [stageField]: to } };
      setRefusals(({ [rec.id]: _, ...rest }) => rest);
      setCols((c) => ({
        ...c,
        [from]: { ...c[from], items: (c[from]?.items ?? []).filter((r) => r.id !== rec.id) },
        [to]: { ...(c[to] ?? { loading: false }), items: [moved, ...(c[to]?.items ?? []).filter((r) => r.id !== rec.id)] },
      }));
      message.success(t('board.moved', { stage: stageLabel(byKey.get(to), to, lang) }));
      void loadColumn(from);
      void loadColumn(to);
    } catch (e) {
      if (isApiError(e) && e.status === 422) {
        setRefusals((r) => ({ ...r, [rec.id]: refusalOf(e, to, lang, t) }));
      } else if (isApiError(e) && (e.status === 409 || e.status === 412)) {
        message.warning(t('board.conflict'));
        void loadColumn(from);
      } else {
        message.error(problemText(e, t));
      }
    } finally {
      setMoving(null);
    }
  };

  const fillIn = (rec: RecordDoc) => {
    const r = refusals[rec.id];
    // A missing required field is worded here, in the UI language; other field errors keep the server's message.
    const stage = r ? stageLabel(byKey.get(r.to), r.to, lang) : '';
    const errors = r?.errors.filter((x) => decodePointer(x.pointer)[0] !== 'to').map((x) => (x.code === 'required' ? { ...x, message: t('board.requiredFor', { stage }) } : x));
    navigate(`/records/${enc(object)}/${enc(rec.id)}`, { state: { back: `/pipelines/${enc(key)}/board`, errors } });
  };

  const onDrop = (ev: DragEvent, to: string) => {
    ev.preventDefault();
    setOver(null);
    const id = ev.dataTransfer.getData('application/x-stride-record') || dragging?.id;
    const from = dragging?.from ?? Object.keys(cols).find((s) => cols[s].items.some((r) => r.id === id));
    setDragging(null);
    if (!id || !from) return;
    const rec = cols[from]?.items.find((r) => r.id === id);
    if (rec) void move(rec, from, to);
  };

  if (pipeError) return <LoadError error={pipeError} onRetry={loadPipeline} />;
  if (defError) return <LoadError error={defError} />;
  if (!pipe) return <FullPageSpin />;

  const title = loc(pipe.label, lang) ?? key;

  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: t('nav.pipelines') }, { title }]} />
      <div className="page-header">
        <Space wrap size={8} align="center">
          <h1>{title}</h1>
          {!mobile && <Typography.Text type="secondary">{t('board.hint')}</Typography.Text>}
        </Space>
        <Space wrap>
          <Button icon={<ReloadOutlined />} onClick={loadAll} aria-label={t('common.reload')} />
          <Link to={`/records/${enc(object)}`}>
            <Button icon={<UnorderedListOutlined />}>{t('board.list')}</Button>
          </Link>
          <Link to={`/pipelines/${enc(key)}/funnel`}>
            <Button icon={<FunnelPlotOutlined />}>{t('funnel.title')}</Button>
          </Link>
        </Space>
      </div>

      <div className={`kanban${mobile ? ' kanban-mobile' : ''}`} data-testid="kanban">
        {stages.map((s) => {
          const col = cols[s.key];
          const items = col?.items ?? [];
          const total = amountKey ? items.reduce((sum, r) => sum + (typeof r.data?.[amountKey] === 'number' ? (r.data[amountKey] as number) : 0), 0) : undefined;
          const terminal = !!s.terminal;
          const canDrop = !!dragging && dragging.from !== s.key;
          return (
            <section
              key={s.key}
              className={`kanban-col${terminal ? ' kanban-col-terminal' : ''}${over === s.key && canDrop ? ' kanban-col-over' : ''}`}
              data-testid={`board-column-${s.key}`}
              data-stage={s.key}
              onDragOver={(ev) => {
                if (!dragging || dragging.from === s.key) return;
                ev.preventDefault();
                ev.dataTransfer.dropEffect = 'move';
                if (over !== s.key) setOver(s.key);
              }}
              onDragLeave={(ev) => {
                if (!ev.currentTarget.contains(ev.relatedTarget as Node | null)) setOver((o) => (o === s.key ? null : o));
              }}
              onDrop={(ev) => onDrop(ev, s.key)}
            >
              <header className="kanban-col-head">
                <div className="kanban-col-title">
                  <Typography.Text strong ellipsis>
                    {stageLabel(s, s.key, lang)}
                  </Typography.Text>
                  <Badge count={col?.next ? `${items.length}+` : items.length} showZero color={terminal ? '#8c8c8c' : '#2f54eb'} data-testid="column-count" />
                </div>
                <div className="kanban-col-meta">
                  {typeof s.probability === 'number' && <span>{t('board.probability', { p: s.probability })}</span>}
                  {total !== undefined && <span data-testid="column-total">{formatMoney(total)}</span>}
                </div>
              </header>
              <div className="kanban-col-body">
                {col?.loading && items.length === 0 && <Spin size="small" style={{ display: 'block', margin: '16px auto' }} />}
                {col?.error != null && <Alert type="error" showIcon title={problemText(col.error, t)} />}
                {!col?.loading && !col?.error && items.length === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('board.emptyColumn')} />}
                {items.map((rec) => {
                  const refusal = refusals[rec.id];
                  const since = enteredStageAt(rec, s.key);
                  const days = daysSince(since);
                  const overdue = days !== undefined && typeof s.slaDays === 'number' && days > s.slaDays;
                  const name = (tf && formatValue(def, tf, rec.data?.[tf], lang, t)) || t('records.untitled');
                  const amount = amountKey ? formatValue(def, amountKey, rec.data?.[amountKey], lang, t) : '';
                  return (
                    <article
                      key={rec.id}
                      className={`kanban-card${terminal ? ' kanban-card-compact' : ''}${refusal ? ' kanban-card-refused' : ''}${moving === rec.id ? ' kanban-card-moving' : ''}`}
                      data-testid={`board-card-${rec.id}`}
                      draggable={!mobile && moving !== rec.id}
                      onDragStart={(ev) => {
                        ev.dataTransfer.setData('application/x-stride-record', rec.id);
                        ev.dataTransfer.setData('text/plain', name);
                        ev.dataTransfer.effectAllowed = 'move';
                        setDragging({ id: rec.id, from: s.key });
                      }}
                      onDragEnd={() => {
                        setDragging(null);
                        setOver(null);
                      }}
                    >
                      <div className="kanban-card-top">
                        <Link to={`/records/${enc(object)}/${enc(rec.id)}`} state={{ back: `/pipelines/${enc(key)}/board` }} className="kanban-card-title" draggable={false}>
                          {name}
                        </Link>
                        <Dropdown
                          trigger={['click']}
                          menu={{
                            items: stages.map((o) => ({ key: o.key, label: stageLabel(o, o.key, lang), disabled: o.key === s.key })),
                            onClick: ({ key: to }) => void move(rec, s.key, to),
                          }}
                        >
                          <Tooltip title={t('board.moveTo')}>
                            <Button size="small" type="text" icon={<SwapOutlined />} aria-label={t('board.moveTo')} data-testid="card-move" loading={moving === rec.id} />
                          </Tooltip>
                        </Dropdown>
                      </div>
                      {amount && <div className="kanban-card-amount">{amount}</div>}
                      {!terminal && (
                        <div className="kanban-card-meta">
                          {rec.owner && (
                            <span title={rec.owner}>
                              <UserOutlined /> {rec.owner === me?.id ? t('board.me') : rec.owner}
                            </span>
                          )}
                          {days !== undefined && (
                            <span>
                              <ClockCircleOutlined /> {t('board.days', { days })}
                            </span>
                          )}
                          {overdue && (
                            <Tag color="red" data-testid="sla-badge" style={{ marginInlineEnd: 0 }}>
                              {t('board.overdue', { sla: s.slaDays ?? 0 })}
                            </Tag>
                          )}
                        </div>
                      )}
                      {refusal && (
                        <div className="kanban-refusal" data-testid="card-refusal" role="alert">
                          <div className="kanban-refusal-head">
                            <strong>{t('board.cannotMove', { stage: stageLabel(byKey.get(refusal.to), refusal.to, lang) })}</strong>
                            <Button size="small" type="text" icon={<CloseOutlined />} aria-label={t('common.cancel')} onClick={() => setRefusals(({ [rec.id]: _, ...rest }) => rest)} />
                          </div>
                          <div>{refusal.text}</div>
                          {refusal.missing.length > 0 && <div>{t('board.missing', { fields: refusal.missing.map((f) => fieldLabel(def, f, lang)).join(lang === 'zh-CN' ? '、' : ', ') })}</div>}
                          <Button size="small" type="primary" ghost icon={<EditOutlined />} style={{ marginTop: 6 }} onClick={() => fillIn(rec)} data-testid="card-fill-in">
                            {t('board.fillIn')}
                          </Button>
                        </div>
                      )}
                    </article>
                  );
                })}
                {col?.next && (
                  <Button block type="dashed" size="small" loading={col.loading} onClick={() => void loadColumn(s.key, true)}>
                    {t('common.loadMore')}
                  </Button>
                )}
              </div>
            </section>
          );
        })}
      </div>
    </div>
  );
}

