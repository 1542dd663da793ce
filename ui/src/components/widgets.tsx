// Widgets for the definition's fields.<f>.widget values that RJSF's antd theme has no
// direct equivalent for (schemas/object.schema.json lists them).
import { Input, InputNumber, Select, Switch } from 'antd';
import type { WidgetProps } from '@rjsf/utils';

const full = { width: '100%' };

/** PercentWidget edits a number shown with a % sign (the value is the number itself, 0–100). */
export function PercentWidget({ id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder, schema, rawErrors }: WidgetProps) {
  return (
    <InputNumber
      id={id}
      style={full}
      value={typeof value === 'number' ? value : null}
      min={typeof schema.minimum === 'number' ? schema.minimum : undefined}
      max={typeof schema.maximum === 'number' ? schema.maximum : undefined}
      precision={schema.type === 'integer' ? 0 : undefined}
      suffix="%"
      placeholder={placeholder}
      disabled={disabled || readonly}
      status={rawErrors?.length ? 'error' : undefined}
      onChange={(v) => onChange(v ?? undefined)}
      onBlur={() => onBlur(id, value)}
      onFocus={() => onFocus(id, value)}
    />
  );
}

/** SwitchWidget edits a boolean as an on/off switch. */
export function SwitchWidget({ id, value, onChange, disabled, readonly }: WidgetProps) {
  return <Switch id={id} checked={value === true} disabled={disabled || readonly} onChange={(v) => onChange(v)} />;
}

/** TagsWidget edits an array of strings as free-form tags. */
export function TagsWidget({ id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder, rawErrors }: WidgetProps) {
  return (
    <Select
      id={id}
      mode="tags"
      style={full}
      value={Array.isArray(value) ? value : []}
      placeholder={placeholder}
      disabled={disabled || readonly}
      status={rawErrors?.length ? 'error' : undefined}
      open={false}
      suffixIcon={null}
      tokenSeparators={[',', '，', ' ']}
      onChange={(v: string[]) => onChange(v.length ? v : undefined)}
      onBlur={() => onBlur(id, value)}
      onFocus={() => onFocus(id, value)}
    />
  );
}

/** PhoneWidget is a text input that brings up the phone keypad on mobiles. */
export function PhoneWidget({ id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder, rawErrors }: WidgetProps) {
  return (
    <Input
      id={id}
      type="tel"
      inputMode="tel"
      autoComplete="tel"
      value={value ?? ''}
      placeholder={placeholder}
      disabled={disabled || readonly}
      status={rawErrors?.length ? 'error' : undefined}
      onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
      onBlur={() => onBlur(id, value)}
      onFocus={() => onFocus(id, value)}
    />
  );
}
