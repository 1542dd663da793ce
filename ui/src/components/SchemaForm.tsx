// SchemaForm renders an object definition as a form with RJSF and the antd theme:
// labels, placeholders and help from definition.fields, a money widget, and server
// errors (problem+json pointers) shown under the field they belong to.
import { forwardRef, useMemo } from 'react';
import { Form as AntForm } from 'antd';
import Form from '@rjsf/antd';
import type RJSFCore from '@rjsf/core';
import type { IChangeEvent } from '@rjsf/core';
import { getTemplate, getUiOptions, type ErrorSchema, type FieldTemplateProps, type RJSFSchema, type RegistryWidgetsType, type ValidatorType } from '@rjsf/utils';
import type { ObjectDefinition } from '../api/types.ts';
import { useI18n, type Lang } from '../i18n/index.tsx';
import { buildUiSchema, formSchema } from '../lib/definition.ts';
import { createValidator } from '../lib/validator.ts';
import { MoneyWidget } from './MoneyWidget.tsx';
import { PercentWidget, PhoneWidget, SwitchWidget, TagsWidget } from './widgets.tsx';

// Client-side checks are hints before the server's authoritative validation; the
// validator interprets schemas without eval, as the server's CSP requires (lib/validator.ts).
const validators: Record<Lang, ValidatorType> = { 'zh-CN': createValidator('zh-CN'), en: createValidator('en') };

const widgets: RegistryWidgetsType = { money: MoneyWidget, percent: PercentWidget, switch: SwitchWidget, tags: TagsWidget, phone: PhoneWidget };

/**
 * FieldTemplate is the antd one with one change that matters: errors always show, even on
 * a field that has help text (the stock template shows help *instead of* errors).
 */
function FieldTemplate(props: FieldTemplateProps) {
  const { children, description, displayLabel, rawErrors, rawHelp, rawDescription, hidden, id, label, required, schema, uiSchema, registry } = props;
  const uiOptions = getUiOptions(uiSchema);
  const WrapIfAdditionalTemplate = getTemplate('WrapIfAdditionalTemplate', registry, uiOptions);
  if (hidden) return <div className="rjsf-field-hidden">{children}</div>;
  const container = schema.type === 'object' || schema.type === 'array';
  if (container && id === 'root') return children;
  const errors = rawErrors?.filter(Boolean) ?? [];
  const extra =
    rawDescription || rawHelp ? (
      <div className="field-help" id={`${id}__help`}>
        {rawDescription && <div>{description}</div>}
        {rawHelp && <div>{rawHelp}</div>}
      </div>
    ) : undefined;
  return (
    <WrapIfAdditionalTemplate {...props}>
      <AntForm.Item
        layout="vertical"
        label={displayLabel && uiOptions.widget !== 'checkbox' ? label : undefined}
        htmlFor={id}
        required={required}
        validateStatus={errors.length ? 'error' : undefined}
        help={
          errors.length ? (
            <div id={`${id}__error`} className="field-errors" data-field-error={id.replace(/^root_/, '')}>
              {errors.join('\n')}
            </div>
          ) : undefined
        }
        extra={extra}
      >
        {children}
      </AntForm.Item>
    </WrapIfAdditionalTemplate>
  );
}

export interface SchemaFormProps {
  def: ObjectDefinition;
  mode: 'create' | 'edit';
  formData: Record<string, unknown>;
  extraErrors?: ErrorSchema;
  disabled?: boolean;
  onChange?: (data: Record<string, unknown>) => void;
  onSubmit?: (data: Record<string, unknown>) => void;
}

export const SchemaForm = forwardRef<RJSFCore, SchemaFormProps>(function SchemaForm({ def, mode, formData, extraErrors, disabled, onChange, onSubmit }, ref) {
  const { lang, t } = useI18n();
  const schema = useMemo(() => formSchema(def) as RJSFSchema, [def]);
  const uiSchema = useMemo(() => buildUiSchema(def, lang, t, mode), [def, lang, t, mode]);

  return (
    <Form
      ref={ref}
      className="stride-form"
      schema={schema}
      uiSchema={uiSchema}
      formData={formData}
      validator={validators[lang]}
      widgets={widgets}
      templates={{ FieldTemplate }}
      extraErrors={extraErrors}
      noHtml5Validate
      showErrorList={false}
      focusOnFirstError
      disabled={disabled}
      formContext={{ descriptionLocation: 'below', readonlyAsDisabled: true }}
      onChange={(e: IChangeEvent) => onChange?.((e.formData ?? {}) as Record<string, unknown>)}
      onSubmit={(e: IChangeEvent) => onSubmit?.((e.formData ?? {}) as Record<string, unknown>)}
    />
  );
});

export default SchemaForm;
