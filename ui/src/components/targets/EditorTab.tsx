// 编辑 (admins): the plan definition as a form — name, metric, fiscal year, amounts per level,
// granularity, seasonality, allocation formulas, every node's inputs and bounds (a tree
// loaded as teams are expanded), the dimension split — with a live preview of the
// split (a debounced POST …/allocate?dryRun=true with the edited definition, whose 422
// pointers show under the fields), a 科学设定 suggestion, save draft (PUT with If-Match) and
// publish with a reason (POST …/allocate).
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App as AntApp, Button, Card, Col, Form, Input, InputNumber, List, Modal, Row, Segmented, Select, Space, Spin, Switch, Table, Tag, Typography } from 'antd';
import { BulbOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { api, enc, ifMatch, isApiError, request } from '../../api/client.ts';
import type { ConfigSummary, ProblemError, TargetLevel, TargetPlan, TargetPlanDefinition, TargetRow, TargetSuggestion, TargetTree } from '../../api/types.ts';
import { loc, useI18n } from '../../i18n/index.tsx';
import { isPublished } from '../../objects.tsx';
import { measureOf, pct, LEVELS, type Measure } from '../../lib/targets.ts';
import { AmountInput } from './AmountInput.tsx';
import { NodeTable } from './NodeTable.tsx';
import { DimensionCard } from './Dims.tsx';
import { Amount, ProblemAlert, RuleTag } from './common.tsx';

type Def = TargetPlanDefinition;

function Suggestion({ def, measure, onUse }: { def: Def; measure: Measure; onUse: (amount: number) => void }) {
  const { t, lang } = useI18n();
  const [growth, setGrowth] = useState<number | null>(10);
  const [state, setState] = useState<{ data?: TargetSuggestion; error?: unknown; loading?: boolean }>({});
  const run = () => {
    setState({ loading: true });
    api
      .get<TargetSuggestion>('target-suggestion', { query: { metric: def.metric, fiscalYear: def.fiscalYear, marketGrowth: growth === null ? undefined : growth / 100, granularity: def.granularity } })
      .then((data) => setState({ data }), (error) => setState({ error }));
  };
  const s = state.data;
  return (
    <Card size="small" title={<Space><BulbOutlined />{t('targets.suggest.title')}</Space>} data-testid="suggestion">
      <Space wrap>
        <span>{t('targets.suggest.marketGrowth')}</span>
        <InputNumber value={growth} onChange={setGrowth} min={-100} max={1000} step={1} style={{ width: 100 }} data-testid="suggest-growth" />
        <Button onClick={run} loading={state.loading} disabled={!def.metric || !def.fiscalYear} data-testid="suggest-run">
          {t('targets.suggest.run')}
        </Button>
      </Space>
      {state.error != null && <div style={{ marginTop: 12 }}><ProblemAlert error={state.error} /></div>}
      {s && (
        <div style={{ marginTop: 12 }}>
          <Space wrap size={24}>
            <div>
              <Typography.Text type="secondary">{t('targets.suggest.suggested')}</Typography.Text>
              <div>
                <Amount value={s.suggested} measure={measure} strong testId="suggested" />
              </div>
            </div>
            <div>
              <Typography.Text type="secondary">{t('targets.suggest.growth')}</Typography.Text>
              <div>{pct(s.growth)}</div>
            </div>
            <Button type="primary" ghost onClick={() => onUse(s.suggested)} data-testid="suggest-use">
              {t('targets.suggest.use')}
            </Button>
          </Space>
          {!s.hasHistory && <Alert style={{ marginTop: 8 }} type="warning" title={t('targets.suggest.noHistory')} />}
          <List size="small" dataSource={s.reasoning} renderItem={(r, i) => <List.Item key={i}>{lang === 'zh-CN' ? r['zh-CN'] : r.en}</List.Item>} />
        </div>
      )}
    </Card>
  );
}

/** errorsAt are the server's messages whose pointer is `ptr` or lies under it. */
function errorsAt(errs: ProblemError[], ptr: string): string[] {
  return errs.filter((e) => e.pointer === ptr || e.pointer?.startsWith(ptr + '/')).map((e) => e.message);
}

export function EditorTab({ plan, initial, onSaved, onPublished }: { plan: string; initial?: Def; onSaved: (p: TargetPlan) => void; onPublished: () => void }) {
  const { t, lang } = useI18n();
  const { message } = AntApp.useApp();
  const [def, setDef] = useState<Def | null>(initial ?? null);
  const [version, setVersion] = useState<number>(0);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [savedJSON, setSavedJSON] = useState<string>(initial ? '' : '');
  const [metrics, setMetrics] = useState<ConfigSummary[]>([]);
  const [preview, setPreview] = useState<{ tree?: TargetTree; error?: unknown; loading?: boolean }>({});
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [publishing, setPublishing] = useState<{ open: boolean; reason: string; busy?: boolean; error?: unknown }>({ open: false, reason: '' });
  const [measure, setMeasure] = useState<Measure>(measureOf(null));

  const load = useCallback(() => {
    request<TargetPlan>('GET', `target-plans/${enc(plan)}`).then(
      (r) => {
        setDef(r.data.definition);
        setVersion(r.data.version);
        setSavedJSON(JSON.stringify(r.data.definition));
        setLoadError(null);
      },
      (e) => {
        if (isApiError(e) && e.status === 404 && initial) return;
        setLoadError(e);
      },
    );
  }, [plan, initial]);
  useEffect(load, [load]);
  useEffect(() => {
    api.get<{ items: ConfigSummary[] }>('metrics').then((r) => setMetrics((r.items ?? []).filter(isPublished)), () => setMetrics([]));
  }, []);

  // The live preview: 500 ms after the last edit, allocate the edited definition without saving.
  useEffect(() => {
    if (!def) return;
    let cancelled = false;
    const timer = setTimeout(() => {
      setPreview((p) => ({ ...p, loading: true }));
      api.post<TargetTree>(`target-plans/${enc(plan)}/allocate`, { definition: def }, { query: { dryRun: 'true' } }).then(
        (tree) => {
          if (cancelled) return;
          setMeasure(measureOf(tree));
          setPreview({ tree });
        },
        (error) => !cancelled && setPreview({ error }),
      );
    }, 500);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [def, plan]);

  const errs = useMemo(() => {
    const e = saveError ?? preview.error;
    return isApiError(e) && e.status === 422 ? (e.problem.errors ?? []) : [];
  }, [saveError, preview.error]);
  const fieldProps = (ptr: string) => {
    const m = errorsAt(errs, ptr);
    return m.length ? { validateStatus: 'error' as const, help: m.join('; ') } : {};
  };

  if (loadError) return <ProblemAlert error={loadError} />;
  if (!def) return <Spin style={{ display: 'block', margin: '48px auto' }} />;

  const patch = (p: Partial<Def>) => {
    setSaveError(null);
    setDef({ ...def, ...p });
  };
  const dirty = JSON.stringify(def) !== savedJSON;
  const season = def.seasonality?.source ?? (def.seasonality?.weights ? 'weights' : 'equal');
  const weights = def.seasonality?.weights ?? Array(12).fill(1);
  const alloc = def.allocation ?? {};
  const attributes = def.attributes ?? [];
  const inputNames = ['potential', ...attributes];
  const setNode = (key: string, f: (n: NonNullable<Def['nodes']>[string]) => NonNullable<Def['nodes']>[string]) => {
    const nodes = { ...(def.nodes ?? {}) };
    const next = f({ ...(nodes[key] ?? {}) });
    if (next.inputs && Object.keys(next.inputs).length === 0) delete next.inputs;
    if (Object.keys(next).length === 0) delete nodes[key];
    else nodes[key] = next;
    patch({ nodes });
  };

  const save = async () => {
    setSaving(true);
    try {
      const r = await request<TargetPlan>('PUT', `target-plans/${enc(plan)}`, { body: def, headers: version ? ifMatch(version) : undefined });
      setVersion(r.data.version);
      setDef(r.data.definition);
      setSavedJSON(JSON.stringify(r.data.definition));
      setSaveError(null);
      message.success(t('targets.editor.draftSaved'));
      onSaved(r.data);
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const publish = async () => {
    setPublishing((p) => ({ ...p, busy: true, error: undefined }));
    try {
      const tree = await api.post<TargetTree>(`target-plans/${enc(plan)}/allocate`, { reason: publishing.reason });
      setPublishing({ open: false, reason: '' });
      message.success(t('targets.editor.published', { version: tree.version }));
      load();
      onPublished();
    } catch (e) {
      setPublishing((p) => ({ ...p, busy: false, error: e }));
    }
  };

  const conflict = isApiError(saveError) && saveError.status === 409;
  const otherErrors = errs.filter((e) => !['/label', '/metric', '/fiscalYear', '/amounts', '/granularity', '/seasonality', '/allocation', '/nodes', '/attributes', '/dimension'].some((p) => e.pointer === p || e.pointer?.startsWith(p + '/')));

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={14}>
        <Space direction="vertical" size={16} style={{ width: '100%' }}>
          <Space wrap>
            <Button type="primary" onClick={() => void save()} loading={saving} disabled={!dirty && version > 0} data-testid="editor-save">
              {t('targets.editor.saveDraft')}
            </Button>
            <Button onClick={() => setPublishing({ open: true, reason: '' })} disabled={dirty || !version} data-testid="editor-publish">
              {t('targets.editor.publish')}
            </Button>
            {dirty && <Tag color="orange">{t('targets.editor.unsaved')}</Tag>}
          </Space>
          {conflict && <Alert type="warning" showIcon title={t('targets.editor.conflict')} action={<Button size="small" onClick={load}>{t('common.reload')}</Button>} />}
          {saveError != null && !conflict && <ProblemAlert error={saveError} testId="editor-save-error" />}
          <Form layout="vertical">
            <Card size="small" title={t('targets.editor.basics')}>
              <Row gutter={12}>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.editor.labelZh')} {...fieldProps('/label')}>
                    <Input value={def.label?.['zh-CN'] ?? ''} onChange={(e) => patch({ label: { ...def.label, 'zh-CN': e.target.value } })} />
                  </Form.Item>
                </Col>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.editor.labelEn')}>
                    <Input value={def.label?.en ?? ''} onChange={(e) => patch({ label: { ...def.label, en: e.target.value } })} />
                  </Form.Item>
                </Col>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.metric')} {...fieldProps('/metric')}>
                    <Select value={def.metric} onChange={(v) => patch({ metric: v })} options={metrics.map((m) => ({ value: m.key, label: loc(m.label, lang) ?? m.key }))} />
                  </Form.Item>
                </Col>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.fiscalYear')} {...fieldProps('/fiscalYear')}>
                    <InputNumber value={def.fiscalYear} min={2000} max={2100} onChange={(v) => patch({ fiscalYear: v ?? undefined })} style={{ width: '100%' }} />
                  </Form.Item>
                </Col>
              </Row>
            </Card>
            <Card size="small" title={t('targets.editor.amounts')} style={{ marginTop: 16 }}>
              <Row gutter={12}>
                {LEVELS.map((l: TargetLevel) => (
                  <Col xs={24} sm={8} key={l}>
                    <Form.Item label={t(`targets.level.${l}`)} required={l === 'target'} {...fieldProps(`/amounts/${l}`)}>
                      <AmountInput
                        value={def.amounts?.[l]}
                        measure={measure}
                        testId={`editor-amount-${l}`}
                        onChange={(v) => {
                          const amounts = { ...(def.amounts ?? {}) };
                          if (v === undefined) delete amounts[l];
                          else amounts[l] = v;
                          patch({ amounts });
                        }}
                      />
                    </Form.Item>
                  </Col>
                ))}
                <Col xs={24} sm={8}>
                  <Form.Item label={t('targets.editor.granularity')} extra={t('targets.editor.granularityHelp')} {...fieldProps('/granularity')}>
                    <AmountInput value={def.granularity} measure={measure} onChange={(v) => patch({ granularity: v })} testId="editor-granularity" />
                  </Form.Item>
                </Col>
              </Row>
            </Card>
            <Card size="small" title={t('targets.editor.seasonality')} style={{ marginTop: 16 }}>
              <Form.Item {...fieldProps('/seasonality')}>
                <Segmented
                  value={season}
                  onChange={(v) => patch({ seasonality: v === 'weights' ? { source: 'weights', weights } : { source: v as 'lastYear' | 'equal' } })}
                  options={(['weights', 'lastYear', 'equal'] as const).map((s) => ({ value: s, label: t(`targets.editor.season.${s}`) }))}
                />
              </Form.Item>
              {season === 'weights' && (
                <Row gutter={[8, 8]}>
                  {weights.map((w, i) => (
                    <Col xs={8} sm={6} md={4} key={i}>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {t('targets.editor.month', { m: i + 1 })}
                      </Typography.Text>
                      <InputNumber
                        size="small"
                        min={0}
                        value={w}
                        style={{ width: '100%' }}
                        onChange={(v) => {
                          const next = [...weights];
                          next[i] = v ?? 0;
                          patch({ seasonality: { source: 'weights', weights: next } });
                        }}
                      />
                    </Col>
                  ))}
                </Row>
              )}
            </Card>
            <Card size="small" title={t('targets.editor.allocation')} style={{ marginTop: 16 }}>
              <Form.Item label={t('targets.editor.formula')} extra={t('targets.editor.formulaHelp')} {...fieldProps('/allocation/formula')}>
                <Input.TextArea
                  data-testid="editor-formula"
                  autoSize={{ minRows: 1, maxRows: 4 }}
                  style={{ fontFamily: 'monospace' }}
                  value={alloc.formula ?? ''}
                  onChange={(e) => patch({ allocation: { ...alloc, formula: e.target.value } })}
                />
              </Form.Item>
              <Typography.Text strong>{t('targets.editor.levelFormulas')}</Typography.Text>
              {(alloc.levels ?? []).map((lf, i) => (
                <Form.Item key={i} {...fieldProps(`/allocation/levels/${i}`)} style={{ marginBottom: 8 }}>
                  <Space.Compact style={{ width: '100%' }}>
                    <InputNumber
                      min={1}
                      max={20}
                      value={lf.depth}
                      addonBefore={t('targets.editor.depth')}
                      style={{ width: 150 }}
                      onChange={(v) => patch({ allocation: { ...alloc, levels: (alloc.levels ?? []).map((x, j) => (j === i ? { ...x, depth: v ?? 1 } : x)) } })}
                    />
                    <Input
                      value={lf.formula}
                      style={{ fontFamily: 'monospace' }}
                      onChange={(e) => patch({ allocation: { ...alloc, levels: (alloc.levels ?? []).map((x, j) => (j === i ? { ...x, formula: e.target.value } : x)) } })}
                    />
                    <Button icon={<DeleteOutlined />} onClick={() => patch({ allocation: { ...alloc, levels: (alloc.levels ?? []).filter((_, j) => j !== i) } })} />
                  </Space.Compact>
                </Form.Item>
              ))}
              <Button
                size="small"
                icon={<PlusOutlined />}
                style={{ margin: '4px 0 16px' }}
                onClick={() => patch({ allocation: { ...alloc, levels: [...(alloc.levels ?? []), { depth: (alloc.levels?.length ?? 0) + 2, formula: 'history.share' }] } })}
              >
                {t('targets.editor.addLevel')}
              </Button>
              <Row gutter={12}>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.editor.historyPeriod')} extra={t('targets.editor.historyPeriodHelp')} {...fieldProps('/allocation/historyPeriod')}>
                    <Input value={alloc.historyPeriod ?? ''} onChange={(e) => patch({ allocation: { ...alloc, historyPeriod: e.target.value || undefined } })} />
                  </Form.Item>
                </Col>
                <Col xs={24} sm={12}>
                  <Form.Item label={t('targets.editor.equalSplit')}>
                    <Switch checked={!!alloc.equalSplitOnZero} onChange={(v) => patch({ allocation: { ...alloc, equalSplitOnZero: v || undefined } })} />
                  </Form.Item>
                </Col>
              </Row>
              <Form.Item label={t('targets.editor.attributes')} extra={t('targets.editor.attributesHelp')} {...fieldProps('/attributes')}>
                <Select mode="tags" value={attributes} onChange={(v: string[]) => patch({ attributes: v })} tokenSeparators={[',', ' ']} />
              </Form.Item>
            </Card>
            <Card size="small" title={t('targets.editor.nodes')} style={{ marginTop: 16 }} extra={<Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('targets.editor.nodesHelp')}</Typography.Text>}>
              {errorsAt(errs, '/nodes').length > 0 && <Alert type="error" style={{ marginBottom: 8 }} title={errorsAt(errs, '/nodes').join('; ')} />}
              <NodeTable plan={plan} def={def} root={preview.tree?.node.key} rootChildren={preview.tree?.children} measure={measure} inputNames={inputNames} setNode={setNode} />
            </Card>
            <DimensionCard value={def.dimension} onChange={(dimension) => patch({ dimension })} fieldProps={fieldProps} />
          </Form>
          <Suggestion def={def} measure={measure} onUse={(amount) => patch({ amounts: { ...(def.amounts ?? {}), target: amount } })} />
        </Space>
      </Col>
      <Col xs={24} xl={10}>
        <Card size="small" title={t('targets.editor.livePreview')} extra={preview.loading && <Spin size="small" />} data-testid="editor-preview" style={{ position: 'sticky', top: 80 }}>
          <Typography.Paragraph type="secondary" style={{ fontSize: 12 }}>
            {t('targets.editor.previewHint')}
          </Typography.Paragraph>
          {preview.error != null && (
            <div data-testid="editor-preview-error">
              <ProblemAlert error={preview.error} />
            </div>
          )}
          {otherErrors.length > 0 && preview.error == null && <ProblemAlert error={saveError} />}
          {preview.tree && preview.error == null && (
            <>
              <Space style={{ marginBottom: 8 }}>
                <Typography.Text strong>{preview.tree.node.name}</Typography.Text>
                <Amount value={preview.tree.node.annual} measure={measure} strong />
              </Space>
              <Table<TargetRow>
                size="small"
                rowKey="key"
                pagination={false}
                dataSource={preview.tree.children}
                scroll={{ x: 360 }}
                onRow={(r) => ({ 'data-testid': `preview-row-${r.key}` }) as React.HTMLAttributes<HTMLElement>}
                columns={[
                  { title: t('targets.name'), dataIndex: 'name' },
                  { title: t('targets.annual'), key: 'a', align: 'right', render: (_, r) => <Amount value={r.annual} measure={measure} testId="preview-amount" /> },
                  { title: t('targets.share'), key: 's', align: 'right', render: (_, r) => pct(preview.tree?.node.annual ? r.annual / preview.tree.node.annual : null) },
                  { title: t('targets.rule'), key: 'r', render: (_, r) => <RuleTag row={r} /> },
                ]}
              />
            </>
          )}
        </Card>
      </Col>
      <Modal
        open={publishing.open}
        title={t('targets.editor.publishTitle')}
        onCancel={() => setPublishing({ open: false, reason: '' })}
        onOk={() => void publish()}
        okButtonProps={{ disabled: !publishing.reason.trim(), loading: publishing.busy, ...({ 'data-testid': 'publish-ok' } as Record<string, string>) }}
        destroyOnHidden
      >
        <Typography.Paragraph type="secondary">{t('targets.editor.publishHint')}</Typography.Paragraph>
        {publishing.error != null && <ProblemAlert error={publishing.error} />}
        <Form layout="vertical">
          <Form.Item label={t('targets.reason')} required>
            <Input.TextArea rows={2} value={publishing.reason} onChange={(e) => setPublishing((p) => ({ ...p, reason: e.target.value }))} data-testid="publish-reason" />
          </Form.Item>
        </Form>
      </Modal>
    </Row>
  );
}
