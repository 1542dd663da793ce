/** JSONParseError is where a JSON text stops being valid, 1-based. */
export interface JSONParseError {
  message: string;
  line: number;
  column: number;
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(pos, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

/** parseJSON parses text and, on failure, reports the line and column the engine names. */
export function parseJSON(text: string): { value?: unknown; error?: JSONParseError } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const msg = (e as Error).message;
    const lc = /line (\d+) column (\d+)/.exec(msg);
    if (lc) return { error: { message: msg, line: Number(lc[1]), column: Number(lc[2]) } };
    const pos = /position (\d+)/.exec(msg);
    if (pos) return { error: { message: msg, ...lineCol(text, Number(pos[1])) } };
    return { error: { message: msg, ...lineCol(text, text.length) } };
  }
}

/** offsetOf returns the character offset of a 1-based line and column in text. */
export function offsetOf(text: string, line: number, column: number): number {
  let off = 0;
  const lines = text.split('\n');
  for (let i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
  return off + Math.max(0, column - 1);
}
