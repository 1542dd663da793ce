// Installing a template: a dry run first (POST /templates/apply {dryRun: true}) lists what would
// be created, upgraded, left alone or is in conflict; the two options re-run the dry run so the
// list always shows what confirming will do; confirming applies and shows the result.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, Button, Checkbox, Grid, Modal, Result, Space, Spin, Typography } from 'antd';
import { api } from '../../api/client.ts';
import type { TemplateApplyRequest, TemplateReport } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { WRITES } from '../../lib/templates.ts';
import { ActionSummary, BundleProblem, ChangeTable } from './common.tsx';

/** InstallSource is what to install: a built-in template by name, or a bundle (an uploaded file). */
export type InstallSource = { name: string; bundle?: undefined } | { bundle: unknown; name?: undefined };

interface Props {
  /** source is what to install; the dialog is open while it is set. */
  source: InstallSource | null;
  /** label is the template's name in the UI language, for the title. */
  label: string;
  onClose: () => void;
  /** onInstalled runs after a successful (non-dry) apply. */
  onInstalled?: (report: TemplateReport) => void;
}

export function InstallModal({ source, label, onClose, onInstalled }: Props) {
  const { t } = useI18n();
  const screens = Grid.useBreakpoint();
  const [force, setForce] = useState(false);
  const [publishPlans, setPublishPlans] = useState(false);
  const [dry, setDry] = useState<TemplateReport | null>(null);
  const [result, setResult] = useState<TemplateReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState(false);
  const [applying, setApplying] = useState(false);
  const seq = useRef(0);

  const body = useCallback(
    (dryRun: boolean): TemplateApplyRequest => ({ ...(source?.name ? { name: source.name } : { bundle: source?.bundle }), dryRun, force, publishPlans }),
    [source, force, publishPlans],
  );

  // A fresh dialog starts from the defaults.
  useEffect(() => {
    if (!source) return;
    setForce(false);
    setPublishPlans(false);
    setResult(null);
  }, [source]);

  // The dry run follows the options: only the latest answer is shown.
  useEffect(() => {
    if (!source || result) return;
    const n = ++seq.current;
    setChecking(true);
    setError(null);
    api
      .post<TemplateReport>('templates/apply', body(true))
      .then((r) => n === seq.current && setDry(r))
      .catch((e) => {
        if (n !== seq.current) return;
        setDry(null);
        setError(e);
      })
      .finally(() => n === seq.current && setChecking(false));
  }, [source, body, result]);

  const close = () => {
    seq.current++;
    setDry(null);
    setError(null);
    onClose();
  };

  const apply = async () => {
    setApplying(true);
    setError(null);
    try {
      const r = await api.post<TemplateReport>('templates/apply', body(false));
      setResult(r);
      onInstalled?.(r);
    } catch (e) {
      setError(e);
    } finally {
      setApplying(false);
    }
  };

  const writes = dry?.changes.filter((c) => WRITES.has(c.action)).length ?? 0;
  const bundle = source?.bundle;

  const footer = result
    ? [
        <Button key="close" type="primary" onClick={close} data-testid="install-close">
          {t('templates.install.close')}
        </Button>,
      ]
    : [
        <Button key="cancel" onClick={close}>
          {t('common.cancel')}
        </Button>,
        <Button key="ok" type="primary" loading={applying} disabled={checking || !dry || writes === 0} onClick={() => void apply()} data-testid="install-confirm">
          {t('templates.install.confirm')}
        </Button>,
      ];

  return (
    <Modal
      open={!!source}
      title={t('templates.install.title', { label })}
      onCancel={close}
      footer={footer}
      width={screens.md ? 820 : '100%'}
      destroyOnHidden
      maskClosable={!applying}
      data-testid="install-modal"
    >
      {result ? (
        <div data-testid="install-result">
          <Result
            status={result.conflicts > 0 ? 'warning' : 'success'}
            title={t('templates.install.done', { template: result.template, version: result.version, tenant: result.tenant })}
            subTitle={result.conflicts > 0 ? t('templates.install.conflicts', { count: result.conflicts }) : undefined}
            style={{ padding: '12px 0' }}
          />
          <Typography.Title level={5}>{t('templates.install.result')}</Typography.Title>
          <ActionSummary changes={result.changes} />
          <div style={{ marginTop: 8 }}>
            <ChangeTable changes={result.changes} testId="install-result-changes" />
          </div>
        </div>
      ) : (
        <div data-testid="install-dry-run" style={{ paddingTop: 8 }}>
          {error != null && <BundleProblem error={error} bundle={bundle} title={t('templates.install.failed')} />}
          <Space orientation="vertical" size={4} style={{ width: '100%', marginBottom: 12 }}>
            <Checkbox checked={force} onChange={(e) => setForce(e.target.checked)} data-testid="install-force">
              {t('templates.install.force')}
            </Checkbox>
            <Typography.Text type="secondary" style={{ fontSize: 12, paddingInlineStart: 24, display: 'block' }}>
              {t('templates.install.forceHelp')}
            </Typography.Text>
            <Checkbox checked={publishPlans} onChange={(e) => setPublishPlans(e.target.checked)} data-testid="install-publish-plans">
              {t('templates.install.publishPlans')}
            </Checkbox>
            <Typography.Text type="secondary" style={{ fontSize: 12, paddingInlineStart: 24, display: 'block' }}>
              {t('templates.install.publishPlansHelp')}
            </Typography.Text>
          </Space>
          <Spin spinning={checking} description={t('templates.install.checking')}>
            {dry ? (
              <>
                {writes === 0 ? (
                  <Alert
                    type={dry.conflicts > 0 ? 'warning' : 'success'}
                    showIcon
                    style={{ marginBottom: 8 }}
                    title={dry.conflicts > 0 ? t('templates.install.onlyConflicts') : t('templates.install.nothing')}
                    data-testid="install-nothing"
                  />
                ) : (
                  <Alert
                    type="info"
                    showIcon
                    style={{ marginBottom: 8 }}
                    title={t('templates.install.dryRun')}
                    description={dry.conflicts > 0 ? <Typography.Text type="danger">{t('templates.install.conflicts', { count: dry.conflicts })}</Typography.Text> : undefined}
                  />
                )}
                <ActionSummary changes={dry.changes} />
                <div style={{ marginTop: 8 }}>
                  <ChangeTable changes={dry.changes} testId="install-changes" />
                </div>
              </>
            ) : (
              <div style={{ minHeight: 120 }} />
            )}
          </Spin>
        </div>
      )}
    </Modal>
  );
}
