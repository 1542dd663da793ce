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

/**
 * pointerOffset finds where a JSON Pointer (RFC 6901, "/stages/2/enterIf") lands in a JSON
 * text: the offset of the deepest member key or array element it reaches. It scans the text
 * itself, so it works on what the admin typed, not on a re-serialization. Returns -1 when
 * not even the first token is found (or the text is not valid JSON up to there).
 */
export function pointerOffset(text: string, pointer: string): number {
  const tokens = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let i = 0;
  let best = -1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    // at '"'
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return '';
    }
  };
  const skip = (): void => {
    ws();
    const c = text[i];
    if (c === '"') {
      str();
      return;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      while (i < text.length) {
        if (c === '{') {
          ws();
          str();
          ws();
          i++; // ':'
        }
        skip();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++; // close
        return;
      }
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
  };
  // descend walks into the value at i following tokens[depth…].
  const descend = (depth: number): void => {
    if (depth >= tokens.length) return;
    ws();
    const c = text[i];
    const want = tokens[depth];
    if (c === '{') {
      i++;
      while (i < text.length) {
        ws();
        if (text[i] === '}') return;
        const at = i;
        const name = str();
        ws();
        i++; // ':'
        if (name === want) {
          best = at;
          descend(depth + 1);
          return;
        }
        skip();
        ws();
        if (text[i] === ',') i++;
        else return;
      }
    } else if (c === '[' && /^\d+$/.test(want)) {
      i++;
      let n = 0;
      while (i < text.length) {
        ws();
        if (text[i] === ']') return;
        if (n === Number(want)) {
          best = i;
          descend(depth + 1);
          return;
        }
        skip();
        ws();
        if (text[i] === ',') i++;
        else return;
        n++;
      }
    }
  };
  if (tokens.length === 0) return 0;
  descend(0);
  return best;
}
