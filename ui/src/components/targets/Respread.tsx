// 剩余目标重新分配 (admins): pick the month from which the unmet remainder is re-spread; the
// dry run (POST …/respread {dryRun:true}) shows the new totals per level and every node whose
// annual amount moves; saving with a reason makes a new version.
import { useEffect, useMemo, useState } from 'react';
import { Button, Descriptions, Form, Input, Modal, Segmented, Select, Space, Spin, Typography } from 'antd';
import { api, enc } from '../../api/client.ts';
import type { TargetLevel, TargetOutcome } from '../../api/types.ts';
import { useI18n } from '../../i18n/index.tsx';
import { planPeriods, type Measure } from '../../lib/targets.ts';
import { Amount, ChangeTable, ProblemAlert } from './common.tsx';
import { Gap } from './Proposals.tsx';

/** defaultFromMonth is the current month when it lies inside the plan year after its first month. */
function defaultFromMonth(months: string[]): string | undefined {
  const d = new Date();
  const key = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  return months.includes(key) ? key : undefined;
}

export function RespreadDialog({ plan, open, fiscalYear, yearStart, amounts, measure, onClose, onSaved }: { plan: string; open: boolean; fiscalYear: number; yearStart?: string; amounts: Partial<Record<TargetLevel, number>>; measure: Measure; onClose: () => void; onSaved: (version?: number) => void }) {
  const { t } = useI18n();
  // The first month cannot be a re-spread start: nothing would be kept.
  const months = useMemo(() => planPeriods(fiscalYear, yearStart).filter((p) => p.kind === 'month').slice(1).map((p) => p.key), [fiscalYear, yearStart]);
  const [from, setFrom] = useState<string | undefined>();
  const [reason, setReason] = useState('');
  const [preview, setPreview] = useState<{ from?: string; out?: TargetOutcome; error?: unknown; loading?: boolean }>({});
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [level, setLevel] = useState<TargetLevel>('target');

  useEffect(() => {
    if (!open) return;
    setFrom(defaultFromMonth(months));
    setReason('');
    setPreview({});
    setSaveError(null);
  }, [open, months]);

  useEffect(() => {
    if (!open || !from) return;
    let cancelled = false;
    setPreview({ from, loading: true });
    setSaveError(null);
    api.post<TargetOutcome>(`target-plans/${enc(plan)}/respread`, { fromMonth: from, reason: '-', dryRun: true }).then(
      (out) => !cancelled && setPreview({ from, out }),
      (error) => !cancelled && setPreview({ from, error }),
    );
    return () => {
      cancelled = true;
    };
  }, [open, from, plan]);

  const save = async () => {
    if (!from) return;
    setSaving(true);
    try {
      const out = await api.post<TargetOutcome>(`target-plans/${enc(plan)}/respread`, { fromMonth: from, reason, dryRun: false });
      onSaved(out.plan?.publishedVersion);
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const out = preview.from === from ? preview.out : undefined;
  const levels = Object.keys(out?.totals ?? {}) as TargetLevel[];
  const shown = levels.includes(level) ? level : (levels[0] ?? 'target');
  const changes = out?.changes?.[shown] ?? [];
  return (
    <Modal
      open={open}
      onCancel={onClose}
      title={t('targets.respread.title')}
      width={720}
      destroyOnHidden
      footer={[
        <Button key="c" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button key="s" type="primary" loading={saving} disabled={!out || !reason.trim()} onClick={() => void save()} data-testid="respread-save">
          {t('targets.saveLock')}
        </Button>,
      ]}
    >
      <div data-testid="respread-dialog">
        <Typography.Paragraph type="secondary">{t('targets.respread.hint')}</Typography.Paragraph>
        <Form layout="vertical">
          <Form.Item label={t('targets.respread.fromMonth')} required>
            <Select value={from} onChange={setFrom} options={months.map((m) => ({ value: m, label: m }))} placeholder={t('targets.respread.pickMonth')} style={{ width: 200 }} data-testid="respread-month" />
          </Form.Item>
        </Form>
        {preview.loading && <Spin />}
        {preview.error != null && preview.from === from && <ProblemAlert error={preview.error} testId="respread-error" />}
        {saveError != null && <ProblemAlert error={saveError} testId="respread-save-error" />}
        {out && (
          <Space direction="vertical" size={12} style={{ width: '100%' }} data-testid="respread-preview" data-from={from}>
            <Descriptions size="small" bordered column={1} title={t('targets.respread.totals')} data-testid="respread-totals">
              {levels.map((l) => (
                <Descriptions.Item key={l} label={t(`targets.level.${l}`)}>
                  <Space wrap data-testid={`respread-total-${l}`}>
                    <Amount value={amounts[l]} measure={measure} />→
                    <Amount value={out.totals[l]} measure={measure} strong testId="respread-new-total" />
                    {amounts[l] !== undefined && out.totals[l] !== undefined && <Gap value={out.totals[l]! - amounts[l]!} measure={measure} />}
                  </Space>
                </Descriptions.Item>
              ))}
            </Descriptions>
            <Space wrap>
              <Typography.Text strong>{t('targets.respread.nodes', { count: changes.length })}</Typography.Text>
              {levels.length > 1 && <Segmented size="small" value={shown} onChange={(v) => setLevel(v as TargetLevel)} options={levels.map((l) => ({ value: l, label: t(`targets.level.${l}`) }))} />}
            </Space>
            <ChangeTable changes={changes} measure={measure} testId="respread-changes" />
          </Space>
        )}
        <Form layout="vertical" style={{ marginTop: 16 }}>
          <Form.Item label={t('targets.reason')} required>
            <Input.TextArea value={reason} onChange={(e) => setReason(e.target.value)} rows={2} maxLength={500} data-testid="respread-reason" />
          </Form.Item>
        </Form>
      </div>
    </Modal>
  );
}
