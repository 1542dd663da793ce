// The pieces of the configuration editors (objects, pipelines): a JSON text area (Tab indents,
// syntax errors with line and column, jump to a position or a pointer) and the alert that
// lists a save's 422 pointers, codes, messages and formula positions.
import { forwardRef, useImperativeHandle, useRef } from 'react';
import { Alert, Button, Input, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import type { TextAreaRef } from 'antd/es/input/TextArea';
import type { ProblemError } from '../api/types.ts';
import { useI18n } from '../i18n/index.tsx';
import { offsetOf, pointerOffset, type JSONParseError } from '../lib/json.ts';

export type SaveProblem = { title: string; detail?: string; errors: ProblemError[]; conflict?: boolean };

export interface JsonEditorHandle {
  jumpTo: (line: number, column: number) => void;
  /** jumpToPointer selects where a JSON Pointer (from a 422) lands in the text. */
  jumpToPointer: (pointer?: string) => void;
}

interface JsonEditorProps {
  value: string;
  onChange: (text: string) => void;
  error?: JSONParseError;
  testId?: string;
}

export const JsonEditor = forwardRef<JsonEditorHandle, JsonEditorProps>(function JsonEditor({ value: text, onChange: setText, error, testId }, ref) {
  const { t } = useI18n();
  const areaRef = useRef<TextAreaRef>(null);

  const jumpTo = (line: number, column: number) => {
    const el = areaRef.current?.resizableTextArea?.textArea;
    if (!el) return;
    const off = offsetOf(text, line, column);
    el.focus();
    el.setSelectionRange(off, off + 1);
    const lh = parseFloat(getComputedStyle(el).lineHeight) || 20;
    el.scrollTop = Math.max(0, (line - 5) * lh);
  };

  const jumpToPointer = (pointer?: string) => {
    if (!pointer) return;
    const off = pointerOffset(text, pointer);
    if (off < 0) return;
    const before = text.slice(0, off).split('\n');
    jumpTo(before.length, before[before.length - 1].length + 1);
  };

  useImperativeHandle(ref, () => ({ jumpTo, jumpToPointer }));

  return (
    <>
      <Input.TextArea
        ref={areaRef}
        className="mono"
        value={text}
        onChange={(e) => setText(e.target.value)}
        autoSize={{ minRows: 22, maxRows: 48 }}
        spellCheck={false}
        status={error ? 'error' : undefined}
        data-testid={testId}
        onKeyDown={(e) => {
          if (e.key === 'Tab' && !e.shiftKey) {
            e.preventDefault();
            const el = e.currentTarget;
            const { selectionStart: s, selectionEnd: end } = el;
            const next = `${text.slice(0, s)}  ${text.slice(end)}`;
            setText(next);
            requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
          }
        }}
      />
      {error && (
        <Alert
          type="error"
          showIcon
          style={{ marginTop: 8 }}
          title={
            <a onClick={() => jumpTo(error.line, error.column)}>
              {t('editor.jsonInvalid')}：{t('editor.jsonPosition', { line: error.line, column: error.column })}
            </a>
          }
          description={<span className="mono">{error.message}</span>}
        />
      )}
    </>
  );
});

export function SaveProblemAlert({ problem, onClose, onReload, onPointer }: { problem: SaveProblem; onClose: () => void; onReload: () => void; onPointer: (pointer?: string) => void }) {
  const { t } = useI18n();
  return (
    <Alert
      type={problem.conflict ? 'warning' : 'error'}
      showIcon
      closable={{ onClose }}
      style={{ marginBottom: 16 }}
      title={problem.title}
      data-testid="save-problem"
      action={
        problem.conflict ? (
          <Button size="small" icon={<ReloadOutlined />} onClick={onReload}>
            {t('common.reload')}
          </Button>
        ) : undefined
      }
      description={
        <>
          {problem.detail && <div>{problem.detail}</div>}
          {problem.errors.length > 0 && (
            <ul style={{ margin: '6px 0 0', paddingInlineStart: 18 }}>
              {problem.errors.map((e, i) => (
                <li key={i} style={{ marginBottom: 4 }}>
                  {e.pointer && (
                    <a onClick={() => onPointer(e.pointer)}>
                      <code>{e.pointer}</code>
                    </a>
                  )}{' '}
                  {e.code && <Typography.Text type="secondary">[{e.code}]</Typography.Text>} {e.message}
                  {e.line !== undefined && e.column !== undefined && <Typography.Text type="secondary"> （{t('editor.jsonPosition', { line: e.line, column: e.column })}）</Typography.Text>}
                  {e.snippet && <pre className="formula-snippet">{e.snippet}</pre>}
                  {e.hint && <div style={{ color: '#d48806' }}>{t('editor.hint', { hint: e.hint })}</div>}
                </li>
              ))}
            </ul>
          )}
        </>
      }
    />
  );
}
