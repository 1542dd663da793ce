import { useEffect, useState } from 'react';
import { Input } from 'antd';
import { amountText, parseAmount, type Measure } from '../../lib/targets.ts';

/**
 * AmountInput edits a stored amount in major units (元 for money): the person types "6000000"
 * or "6,000,000.5", the value is the integer in the stored unit (分). Empty is undefined.
 */
export function AmountInput({ value, onChange, measure, testId, placeholder }: { value: number | undefined; onChange: (v: number | undefined) => void; measure: Measure; testId?: string; placeholder?: string }) {
  const [text, setText] = useState(() => amountText(value, measure));
  useEffect(() => {
    if (parseAmount(text, measure) !== value) setText(amountText(value, measure));
    // follow outside changes only
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value, measure]);
  const parsed = parseAmount(text, measure);
  return (
    <Input
      value={text}
      inputMode="decimal"
      prefix={measure.unit === 'money' ? '¥' : undefined}
      status={parsed !== undefined && !Number.isFinite(parsed) ? 'error' : undefined}
      placeholder={placeholder}
      data-testid={testId}
      onChange={(e) => {
        setText(e.target.value);
        const v = parseAmount(e.target.value, measure);
        if (v === undefined || Number.isFinite(v)) onChange(v);
      }}
    />
  );
}
