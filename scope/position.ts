/**
 * Offsets to lines and columns. Parsimmon can do this (`Parsimmon.index`), but it memoises in a
 * module-wide object keyed by the whole input, which untrusted text must not reach (see
 * parse.ts); this module keeps its own one-entry memo instead.
 */
import type { SourcePosition } from './ast.js';

interface LineStarts {
  readonly text: string;
  /** Offset at which each line starts; line 1 starts at 0. */
  readonly starts: readonly number[];
}

// One entry is enough: the grammar asks for many positions in one input, then moves on.
let memo: LineStarts | undefined;

function lineStartsOf(text: string): readonly number[] {
  if (memo?.text === text) return memo.starts;
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    // '\n', or a lone '\r' (old Mac); '\r\n' counts once, at its '\n'.
    if (char === 0x0a || (char === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) starts.push(i + 1);
  }
  memo = { text, starts };
  return starts;
}

/** The line and column of `offset` in `text` (an offset past the end is allowed: end of input). */
export function positionAt(text: string, offset: number): SourcePosition {
  const starts = lineStartsOf(text);
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((starts[middle] ?? 0) <= offset) low = middle;
    else high = middle - 1;
  }
  return { offset, line: low + 1, column: offset - (starts[low] ?? 0) + 1 };
}

/** True when a text spans more than one line, so its positions must name the line too. */
export function isMultiline(text: string): boolean {
  return /[\n\r]/.test(text);
}

/** `column 9`, or `line 2, column 3` when the line matters. */
export function describePosition(position: SourcePosition, withLine: boolean): string {
  return withLine ? `line ${position.line}, column ${position.column}` : `column ${position.column}`;
}
