import { lazy, Suspense, useMemo, useState } from 'react';
import { useParams } from 'react-router';
import { Alert, Spin, Typography } from 'antd';
import type { ObjectDefinition } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { readableDefinition } from '../lib/definition.ts';
import { FormulaCheck, collectFormulas } from '../components/FormulaCheck.tsx';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { ConfigEditor, useConfigDocument } from '../components/ConfigEditor.tsx';

const SchemaForm = lazy(() => import('../components/SchemaForm.tsx'));

function FormPreview({ def }: { def: ObjectDefinition }) {
  const { t } = useI18n();
  const [data, setData] = useState<Record<string, unknown>>({});
  return (
    <>
      <Typography.Paragraph type="secondary">{t('editor.previewHint')}</Typography.Paragraph>
      <ErrorBoundary resetKey={JSON.stringify(def)} fallback={(err) => <Alert type="warning" showIcon title={t('editor.previewInvalid')} description={err.message} />}>
        <Suspense fallback={<Spin />}>
          <SchemaForm def={def} mode="create" formData={data} onChange={setData} />
        </Suspense>
      </ErrorBoundary>
    </>
  );
}

export default function ObjectEditorPage() {
  const { key = '' } = useParams();
  const { t } = useI18n();
  const doc = useConfigDocument<ObjectDefinition>({ kind: 'objects', key, readable: readableDefinition, conflictTitle: t('editor.conflict') });
  const { def, parsed } = doc;
  const formulaCount = useMemo(() => collectFormulas(def).length, [def]);

  return (
    <ConfigEditor
      doc={doc}
      list={{ to: '/admin/objects', title: t('objects.title') }}
      testId="object"
      publishHint={t('editor.publishHint')}
      editorTitle={t('editor.definition')}
      editorExtra={def?.schema?.properties && <Typography.Text type="secondary">{t('editor.fieldCount', { count: Object.keys(def.schema.properties).length })}</Typography.Text>}
      jsonTestId="definition-json"
      formulas={{ count: formulaCount, check: <FormulaCheck def={def} jsonValid={!parsed.error} /> }}
      tabs={[
        {
          key: 'preview',
          label: t('editor.preview'),
          children: def?.schema ? <FormPreview def={def} /> : <Alert type="warning" title={t('editor.previewInvalid')} />,
        },
      ]}
    />
  );
}
