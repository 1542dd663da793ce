// Dimension splits (细分品类 / 渠道 / 重点客户): a plan with a `dimension` splits every node's
// amount over the dimension's values. DimTable shows one row's split (the tree's expandable
// rows); DimensionCard edits the definition's dimension in the editor.
import { Button, Card, Col, Form, Input, InputNumber, Row, Segmented, Switch, Table, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import type { TargetDimension, TargetRow } from '../../api/types.ts';
import { loc, useI18n } from '../../i18n/index.tsx';
import { exactAmount, pct, type Measure } from '../../lib/targets.ts';
import { Amount } from './common.tsx';

/** DimTable lists a row's amount per dimension value, with its share and the (exact) sum. */
export function DimTable({ row, dimension, measure }: { row: TargetRow; dimension?: TargetDimension; measure: Measure }) {
  const { t, lang } = useI18n();
  const dims = row.dims ?? [];
  const label = (k: string) => loc(dimension?.values.find((v) => v.key === k)?.label, lang) ?? k;
  const sum = dims.reduce((a, d) => a + d.amount, 0);
  return (
    <Table
      data-testid={`dims-${row.key}`}
      size="small"
      rowKey="key"
      pagination={false}
      dataSource={dims}
      style={{ maxWidth: 560 }}
      onRow={(d) => ({ 'data-testid': `dim-${d.key}` }) as React.HTMLAttributes<HTMLElement>}
      title={() => (
        <Typography.Text type="secondary">
          {t('targets.dims.title', { field: dimension?.field ?? '' })} ·{' '}
          <Typography.Text type={sum === row.amount ? 'success' : 'danger'} data-testid="dims-sum">
            {t(sum === row.amount ? 'targets.dims.sumOk' : 'targets.dims.sumOff', { sum: exactAmount(sum, measure, lang) })}
          </Typography.Text>
        </Typography.Text>
      )}
      columns={[
        { title: t('targets.dims.value'), key: 'k', render: (_, d) => label(d.key) },
        { title: t('targets.amount'), key: 'a', align: 'right', render: (_, d) => <Amount value={d.amount} measure={measure} testId="dim-amount" /> },
        { title: t('targets.share'), key: 's', align: 'right', render: (_, d) => pct(row.amount ? d.amount / row.amount : null) },
      ]}
    />
  );
}

type FieldProps = (ptr: string) => { validateStatus?: 'error'; help?: string };

/** DimensionCard edits `dimension`: the record field, where the weights come from, and the values. */
export function DimensionCard({ value, onChange, fieldProps }: { value: TargetDimension | undefined; onChange: (d: TargetDimension | undefined) => void; fieldProps: FieldProps }) {
  const { t } = useI18n();
  const d = value;
  const values = d?.values ?? [];
  const setValue = (i: number, p: Partial<TargetDimension['values'][number]>) => d && onChange({ ...d, values: values.map((v, j) => (j === i ? { ...v, ...p } : v)) });
  const setLabel = (i: number, lang: 'zh-CN' | 'en', text: string) => {
    const label = { ...(values[i].label ?? {}) };
    if (text) label[lang] = text;
    else delete label[lang];
    setValue(i, { label: Object.keys(label).length ? label : undefined });
  };
  return (
    <Card
      size="small"
      style={{ marginTop: 16 }}
      title={t('targets.dims.editorTitle')}
      extra={<Switch checked={!!d} onChange={(on) => onChange(on ? { field: '', weightsFrom: 'fixed', values: [{ key: '', weight: 1 }] } : undefined)} data-testid="dim-enable" />}
    >
      {!d ? (
        <Typography.Text type="secondary">{t('targets.dims.off')}</Typography.Text>
      ) : (
        <>
          <Row gutter={12}>
            <Col xs={24} sm={12}>
              <Form.Item label={t('targets.dims.field')} extra={t('targets.dims.fieldHelp')} {...fieldProps('/dimension/field')}>
                <Input value={d.field} onChange={(e) => onChange({ ...d, field: e.target.value })} data-testid="dim-field" />
              </Form.Item>
            </Col>
            <Col xs={24} sm={12}>
              <Form.Item label={t('targets.dims.weightsFrom')} extra={t(d.weightsFrom === 'history' ? 'targets.dims.historyHelp' : 'targets.dims.fixedHelp')} {...fieldProps('/dimension/weightsFrom')}>
                <Segmented value={d.weightsFrom ?? 'fixed'} onChange={(v) => onChange({ ...d, weightsFrom: v as 'fixed' | 'history' })} options={(['fixed', 'history'] as const).map((w) => ({ value: w, label: t(`targets.dims.${w}`) }))} />
              </Form.Item>
            </Col>
          </Row>
          <Form.Item {...fieldProps('/dimension/values')} style={{ marginBottom: 8 }}>
            <Table
              size="small"
              rowKey={(_, i) => String(i)}
              pagination={false}
              scroll={{ x: 560 }}
              dataSource={values}
              columns={[
                { title: t('targets.dims.key'), key: 'key', render: (_, v, i) => <Input size="small" value={v.key} status={fieldProps(`/dimension/values/${i}/key`).help ? 'error' : undefined} onChange={(e) => setValue(i, { key: e.target.value })} data-testid={`dim-key-${i}`} /> },
                { title: t('targets.editor.labelZh'), key: 'zh', render: (_, v, i) => <Input size="small" value={v.label?.['zh-CN'] ?? ''} onChange={(e) => setLabel(i, 'zh-CN', e.target.value)} /> },
                { title: t('targets.editor.labelEn'), key: 'en', render: (_, v, i) => <Input size="small" value={v.label?.en ?? ''} onChange={(e) => setLabel(i, 'en', e.target.value)} /> },
                { title: t('targets.explain.weight'), key: 'w', render: (_, v, i) => <InputNumber size="small" min={0} value={v.weight} onChange={(w) => setValue(i, { weight: w ?? undefined })} data-testid={`dim-weight-${i}`} /> },
                { title: '', key: 'x', width: 40, render: (_, _v, i) => <Button size="small" type="text" icon={<DeleteOutlined />} disabled={values.length <= 1} onClick={() => onChange({ ...d, values: values.filter((_, j) => j !== i) })} /> },
              ]}
            />
          </Form.Item>
          <Button size="small" icon={<PlusOutlined />} onClick={() => onChange({ ...d, values: [...values, { key: '', weight: 1 }] })}>
            {t('targets.dims.addValue')}
          </Button>
        </>
      )}
    </Card>
  );
}
