import { useEffect, useState } from 'react';
import { Input } from 'antd';
import type { WidgetProps } from '@rjsf/utils';
import { fenToYuanString, wan, yuanStringToFen } from '../lib/money.ts';
import { useI18n } from '../i18n/index.tsx';

function display(fen: unknown, grouped: boolean): string {
  if (typeof fen !== 'number') return fen == null ? '' : String(fen);
  const s = fenToYuanString(fen);
  if (!grouped) return s;
  const [i, f] = s.split('.');
  return `${i.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${f}`;
}

/**
 * MoneyWidget edits a money field ({type: integer, format: money}): the person types
 * yuan ("12500.50"), the form value is integer fen (1250050). Something that is not a
 * number is passed through as text so validation reports it instead of losing it.
 */
export function MoneyWidget(props: WidgetProps) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder, rawErrors, autofocus, htmlName } = props;
  const { lang } = useI18n();
  const [text, setText] = useState(() => display(value, true));

  // Follow the form value when it changes from outside (reload, reset), not while it
  // is the echo of what is being typed.
  useEffect(() => {
    const typed = yuanStringToFen(text);
    if (typed !== value && !(typeof value === 'string' && value === text)) setText(display(value, document.activeElement?.id !== id));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const fen = typeof value === 'number' ? value : undefined;
  const hint = lang === 'zh-CN' && fen !== undefined && Math.abs(fen) >= 1_000_000 ? `≈ ${wan(fen)} 万` : undefined;

  return (
    <Input
      id={id}
      name={htmlName || id}
      inputMode="decimal"
      autoComplete="off"
      prefix="¥"
      suffix={hint ? <span style={{ color: 'rgba(0,0,0,0.45)', fontSize: 12 }}>{hint}</span> : <span />}
      value={text}
      placeholder={placeholder || '0.00'}
      disabled={disabled || readonly}
      autoFocus={autofocus}
      status={rawErrors?.length ? 'error' : undefined}
      aria-describedby={`${id}__error ${id}__help`}
      onChange={(e) => {
        const v = e.target.value;
        setText(v);
        const parsed = yuanStringToFen(v);
        onChange(parsed === undefined ? undefined : Number.isNaN(parsed) ? v : parsed);
      }}
      onFocus={() => onFocus(id, value)}
      onBlur={() => {
        // Tidy what was typed ("12500.5" → "12,500.50") once the person is done; never
        // while focused, where rewriting the text would move the caret.
        if (typeof value === 'number') setText(display(value, true));
        onBlur(id, value);
      }}
    />
  );
}
