/**
 * Kubernetes field selectors (`metadata.name=x,status.phase!=Running`), parsed as apimachinery's
 * `fields.ParseSelector` does: terms split on unescaped commas, operators `!=`, `==`, `=`, and the
 * escapes `\\`, `\,`, `\=` in values.
 */

/** One term of a field selector. */
export interface FieldSelectorTerm {
  readonly field: string;
  readonly operator: '=' | '==' | '!=';
  readonly value: string;
}

/** A parsed selector, or why it does not parse. */
export type FieldSelectorResult =
  | { readonly ok: true; readonly terms: readonly FieldSelectorTerm[] }
  | { readonly ok: false; readonly error: string };

/** Splits `text` at unescaped commas, keeping escapes in the pieces. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index] ?? '';
    if (char === '\\') {
      current += char + (text[index + 1] ?? '');
      index += 1;
    } else if (char === ',') {
      terms.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current);
  return terms;
}

/** Undoes the escapes of a value; unescaped `,` or `=` and unknown escapes are errors, as in Go. */
function unescapeValue(value: string): string | undefined {
  let result = '';
  for (let index = 0; index < value.length; index += 1) {
    const char = value[index] ?? '';
    if (char === ',' || char === '=') return undefined;
    if (char !== '\\') {
      result += char;
      continue;
    }
    const next = value[index + 1];
    if (next !== '\\' && next !== ',' && next !== '=') return undefined;
    result += next;
    index += 1;
  }
  return result;
}

/** Splits one term at its first operator (`!=` before `==` before `=`, as Go's `splitTerm`). */
function parseTerm(term: string): FieldSelectorTerm | string {
  for (let index = 0; index < term.length; index += 1) {
    const operator = term.startsWith('!=', index) ? '!=' : term.startsWith('==', index) ? '==' : term[index] === '=' ? '=' : undefined;
    if (operator === undefined) continue;
    const field = term.slice(0, index);
    const value = unescapeValue(term.slice(index + operator.length));
    if (value === undefined) return `invalid value in ${JSON.stringify(term)}: escape ',', '=' and '\\' with '\\'`;
    return { field, operator, value };
  }
  return `invalid selector term ${JSON.stringify(term)}: expected field=value, field==value or field!=value`;
}

/** Parses a field selector; the empty selector selects everything (no terms). */
export function parseFieldSelector(text: string): FieldSelectorResult {
  const terms: FieldSelectorTerm[] = [];
  // Go sorts the terms before use, which decides which of two `metadata.name` terms wins.
  for (const piece of splitTerms(text).sort()) {
    if (piece === '') continue;
    const term = parseTerm(piece);
    if (typeof term === 'string') return { ok: false, error: term };
    terms.push(term);
  }
  return { ok: true, terms };
}

/** The value `field` must equal for the selector to match, as `RequiresExactMatch` answers. */
export function requiredFieldValue(terms: readonly FieldSelectorTerm[], field: string): string | undefined {
  return terms.find((term) => term.field === field && term.operator !== '!=')?.value;
}
