// 配置对比 (/admin/templates/diff?name=): a built-in template or an uploaded bundle file
// compared with the tenant (POST /templates/diff) — definitions the template adds, changes
// (each field as a JSON Pointer, tenant → template) or lacks — and, from here, installing it
// with the same dry run → confirm dialog as the gallery.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { Alert, Button, Card, Collapse, Empty, Segmented, Select, Space, Spin, Switch, Tag, Typography, Upload } from 'antd';
import { ArrowLeftOutlined, CloudDownloadOutlined, DiffOutlined, UploadOutlined } from '@ant-design/icons';
import { api } from '../api/client.ts';
import type { TemplateBundle, TemplateDiffEntry, TemplateSummary } from '../api/types.ts';
import { loc, useI18n } from '../i18n/index.tsx';
import { useObjects } from '../objects.tsx';
import { parseJSON } from '../lib/json.ts';
import { BUNDLE_FORMAT, kindLabel, shortJSON, statusLabel, STATUS_COLOR } from '../lib/templates.ts';
import { BundleProblem, KindTag } from '../components/templates/common.tsx';
import { InstallModal, type InstallSource } from '../components/templates/InstallModal.tsx';
import { ExportButton } from '../components/templates/ExportButton.tsx';

type Mode = 'builtin' | 'upload';

interface Upload {
  file: string;
  bundle?: TemplateBundle;
  error?: string;
}

/** ValueBox shows one side of a field change; absent values (added or removed fields) say so. */
function ValueBox({ value, side }: { value: unknown; side: 'old' | 'new' }) {
  const { t } = useI18n();
  const absent = value === undefined || value === null;
  const full = absent ? '' : typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <code
      className={`tpl-diff-value tpl-diff-${side}`}
      title={full.length > 160 ? full : undefined}
      style={{
        display: 'inline-block',
        maxWidth: '100%',
        whiteSpace: 'pre-wrap',
        wordBreak: 'break-all',
        padding: '1px 6px',
        borderRadius: 4,
        background: side === 'old' ? '#fff1f0' : '#f6ffed',
        color: absent ? 'rgba(0,0,0,0.35)' : side === 'old' ? '#a8071a' : '#237804',
        textDecoration: side === 'old' && !absent ? 'line-through' : undefined,
      }}
    >
      {absent ? t('templates.diff.absent') : shortJSON(value, 160)}
    </code>
  );
}

function ChangeRows({ entry }: { entry: TemplateDiffEntry }) {
  const { t } = useI18n();
  return (
    <div data-testid={`diff-changes-${entry.kind}-${entry.key}`}>
      <div className="tpl-diff-head" style={{ display: 'flex', gap: 8, fontSize: 12, color: 'rgba(0,0,0,0.45)', marginBottom: 4 }}>
        <span style={{ flex: '1 1 30%', minWidth: 160 }}>{t('templates.diff.path')}</span>
        <span style={{ flex: '1 1 60%' }}>
          {t('templates.diff.old')} → {t('templates.diff.new')}
        </span>
      </div>
      {(entry.changes ?? []).map((c, i) => (
        <div key={i} data-testid="diff-change" data-path={c.path} style={{ display: 'flex', flexWrap: 'wrap', gap: 8, padding: '6px 0', borderTop: '1px solid #f0f0f0' }}>
          <code style={{ flex: '1 1 30%', minWidth: 160, wordBreak: 'break-all' }}>{c.path}</code>
          <div style={{ flex: '1 1 60%', minWidth: 0, display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 6 }}>
            <ValueBox value={c.old} side="old" />
            <span style={{ color: 'rgba(0,0,0,0.35)' }}>→</span>
            <ValueBox value={c.new} side="new" />
          </div>
        </div>
      ))}
    </div>
  );
}

export default function TemplateDiffPage() {
  const { t, lang } = useI18n();
  const { refresh } = useObjects();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const name = params.get('name') ?? '';
  const [mode, setMode] = useState<Mode>('builtin');
  const [templates, setTemplates] = useState<TemplateSummary[]>([]);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [items, setItems] = useState<TemplateDiffEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [showRemoved, setShowRemoved] = useState(false);
  const [install, setInstall] = useState<InstallSource | null>(null);
  const [open, setOpen] = useState<string[]>([]);
  const seq = useRef(0);

  useEffect(() => {
    api
      .get<{ items: TemplateSummary[] }>('templates')
      .then((r) => setTemplates(r.items ?? []))
      .catch(() => setTemplates([]));
  }, []);

  /** source is what the page compares: the chosen built-in template, or the parsed upload. */
  const source = useMemo<InstallSource | null>(() => {
    if (mode === 'builtin') return name ? { name } : null;
    return upload?.bundle ? { bundle: upload.bundle } : null;
  }, [mode, name, upload]);

  const sourceLabel = useMemo(() => {
    if (mode === 'builtin') {
      const s = templates.find((x) => x.name === name);
      return s ? (loc(s.metadata.label, lang) ?? name) : name;
    }
    const m = upload?.bundle?.metadata;
    return (m && (loc(m.label, lang) ?? m.name)) || upload?.file || '';
  }, [mode, name, templates, upload, lang]);

  const run = useCallback(async (src: InstallSource | null) => {
    const n = ++seq.current;
    setError(null);
    if (!src) {
      setItems(null);
      return;
    }
    setBusy(true);
    try {
      const r = await api.post<{ items: TemplateDiffEntry[] }>('templates/diff', src.name ? { name: src.name } : { bundle: src.bundle });
      if (n === seq.current) {
        setItems(r.items ?? []);
        // Changed definitions open with their field changes showing.
        setOpen((r.items ?? []).filter((e) => e.status === 'changed').map((e) => `${e.kind}:${e.key}`));
      }
    } catch (e) {
      if (n === seq.current) {
        setItems(null);
        setError(e);
      }
    } finally {
      if (n === seq.current) setBusy(false);
    }
  }, []);

  // Choosing a template or a file compares at once.
  useEffect(() => {
    void run(source);
  }, [source, run]);

  const readFile = async (file: File) => {
    const text = await file.text();
    const parsed = parseJSON(text);
    if (parsed.error) {
      const e = parsed.error;
      setUpload({ file: file.name, error: t('templates.diff.notJSON', { file: file.name, message: `${t('editor.jsonPosition', { line: e.line, column: e.column })} ${e.message}` }) });
      return;
    }
    setUpload({ file: file.name, bundle: parsed.value as TemplateBundle });
  };

  const counts = { added: 0, changed: 0, removed: 0 };
  for (const e of items ?? []) counts[e.status]++;
  const shown = (items ?? []).filter((e) => showRemoved || e.status !== 'removed');
  const bundleOK = upload?.bundle && (upload.bundle as { bundle?: unknown }).bundle === BUNDLE_FORMAT;

  return (
    <div>
      <div className="page-header">
        <div>
          <Space size={8} align="center">
            <Button type="text" icon={<ArrowLeftOutlined />} onClick={() => navigate('/admin/templates')} aria-label={t('templates.title')} />
            <h1>{t('templates.diff.title')}</h1>
          </Space>
          <div>
            <Typography.Text type="secondary">{t('templates.diff.subtitle')}</Typography.Text>
          </div>
        </div>
        <ExportButton />
      </div>

      <Card style={{ marginBottom: 16 }}>
        <Space orientation="vertical" size={12} style={{ width: '100%' }}>
          <Segmented<Mode>
            value={mode}
            onChange={setMode}
            options={[
              { value: 'builtin', label: t('templates.diff.builtin') },
              { value: 'upload', label: t('templates.diff.upload') },
            ]}
            data-testid="diff-mode"
          />
          {mode === 'builtin' ? (
            <Select
              style={{ width: '100%', maxWidth: 420 }}
              placeholder={t('templates.diff.choose')}
              value={name || undefined}
              onChange={(v: string) => setParams({ name: v }, { replace: true })}
              options={templates.map((s) => ({ value: s.name, label: `${loc(s.metadata.label, lang) ?? s.name} (${s.name} v${s.metadata.version})` }))}
              data-testid="diff-template"
            />
          ) : (
            <Space wrap>
              <Upload
                accept=".json,application/json"
                showUploadList={false}
                beforeUpload={(f) => {
                  void readFile(f);
                  return false;
                }}
              >
                <Button icon={<UploadOutlined />} data-testid="diff-upload">
                  {t('templates.diff.pick')}
                </Button>
              </Upload>
              {upload && !upload.error && (
                <Typography.Text data-testid="diff-file">
                  {upload.file}
                  {upload.bundle?.metadata && (
                    <Typography.Text type="secondary">
                      {' '}
                      · {loc(upload.bundle.metadata.label, lang) ?? upload.bundle.metadata.name} v{upload.bundle.metadata.version}
                    </Typography.Text>
                  )}
                </Typography.Text>
              )}
            </Space>
          )}
          {mode === 'upload' && upload?.error && <Alert type="error" showIcon title={upload.error} data-testid="diff-file-error" />}
          {mode === 'upload' && upload?.bundle && !bundleOK && <Alert type="warning" showIcon title={t('templates.diff.notBundle', { file: upload.file })} />}
          <Space wrap>
            <Button icon={<DiffOutlined />} disabled={!source} loading={busy} onClick={() => void run(source)} data-testid="diff-run">
              {t('templates.diff.run')}
            </Button>
            {source && (
              <Button type="primary" icon={<CloudDownloadOutlined />} onClick={() => setInstall(source)} data-testid="diff-install">
                {mode === 'upload' ? t('templates.diff.installThis') : t('templates.install')}
              </Button>
            )}
          </Space>
        </Space>
      </Card>

      {error != null && <BundleProblem error={error} bundle={mode === 'upload' ? upload?.bundle : undefined} />}

      <Card>
        {!source && items === null ? (
          <Empty description={t('templates.diff.empty')} />
        ) : busy && items === null ? (
          <Spin style={{ display: 'block', margin: '32px auto' }} />
        ) : items === null ? null : (
          <div data-testid="diff-result" data-added={counts.added} data-changed={counts.changed} data-removed={counts.removed}>
            <div style={{ display: 'flex', flexWrap: 'wrap', justifyContent: 'space-between', gap: 8, marginBottom: 12 }}>
              <Space size={[4, 4]} wrap data-testid="diff-summary">
                <Tag color={STATUS_COLOR.added}>
                  {statusLabel(t, 'added')} {counts.added}
                </Tag>
                <Tag color={STATUS_COLOR.changed}>
                  {statusLabel(t, 'changed')} {counts.changed}
                </Tag>
                <Tag>
                  {statusLabel(t, 'removed')} {counts.removed}
                </Tag>
              </Space>
              <Space size={6}>
                <Switch size="small" checked={showRemoved} onChange={setShowRemoved} data-testid="diff-show-removed" />
                <Typography.Text>{t('templates.diff.showRemoved')}</Typography.Text>
              </Space>
            </div>
            {counts.added === 0 && counts.changed === 0 && <Alert type="success" showIcon title={t('templates.diff.same')} style={{ marginBottom: 12 }} data-testid="diff-same" />}
            {shown.length > 0 && (
              <Collapse
                size="small"
                activeKey={open}
                onChange={(keys) => setOpen(Array.isArray(keys) ? keys : [keys])}
                items={shown.map((e) => ({
                  key: `${e.kind}:${e.key}`,
                  collapsible: e.status === 'changed' ? undefined : ('icon' as const),
                  showArrow: e.status === 'changed',
                  label: (
                    <span data-testid={`diff-entry-${e.kind}-${e.key}`} data-status={e.status}>
                      <Tag color={STATUS_COLOR[e.status]}>{statusLabel(t, e.status)}</Tag>
                      <KindTag kind={e.kind} />
                      <Typography.Text code title={kindLabel(t, e.kind)}>
                        {e.key}
                      </Typography.Text>
                      {e.status === 'changed' && (
                        <Typography.Text type="secondary" style={{ marginInlineStart: 8 }}>
                          {t('templates.diff.changes', { count: e.changes?.length ?? 0 })}
                        </Typography.Text>
                      )}
                    </span>
                  ),
                  children: e.status === 'changed' ? <ChangeRows entry={e} /> : null,
                }))}
              />
            )}
          </div>
        )}
      </Card>

      <InstallModal
        source={install}
        label={sourceLabel}
        onClose={() => setInstall(null)}
        onInstalled={() => {
          void refresh();
          void run(source);
        }}
      />
    </div>
  );
}
