/**
 * Label and field selectors, parsed and matched the way k8s.io/apimachinery does: the grammar of
 * `-l a=b,c!=d,e in (x,y),!f,g` with its error messages, and field selectors of `key=value` terms
 * over a per-kind set of supported fields.
 */
import { badRequest } from './errors.js';
import { isJsonObject, type JsonObject } from './json.js';

export type LabelOperator = 'exists' | '!' | '=' | '==' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export type LabelSelector = readonly LabelRequirement[];

type Token =
  | { readonly type: 'identifier'; readonly text: string }
  | { readonly type: 'symbol'; readonly text: string }
  | { readonly type: 'end'; readonly text: '' };

const symbols = ['!=', '==', '=', '!', ',', '(', ')', '<', '>'];

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < input.length) {
    const char = input[index] ?? '';
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const symbol = symbols.find((candidate) => input.startsWith(candidate, index));
    if (symbol !== undefined) {
      tokens.push({ type: 'symbol', text: symbol });
      index += symbol.length;
      continue;
    }
    let end = index;
    while (end < input.length && !/[\s!=,()<>]/.test(input[end] ?? '')) end++;
    tokens.push({ type: 'identifier', text: input.slice(index, end) });
    index = end;
  }
  tokens.push({ type: 'end', text: '' });
  return tokens;
}

const namePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const nameMessage =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!namePart.test(name)) return nameMessage;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    return 'prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !namePart.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return undefined;
}

class SelectorParser {
  private position = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.position] ?? { type: 'end', text: '' };
  }

  private next(): Token {
    const token = this.peek();
    if (this.position < this.tokens.length - 1) this.position++;
    return token;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const token = this.peek();
      if (token.type === 'end') return requirements;
      if (token.type !== 'identifier' && token.text !== '!') {
        throw new Error(`found '${token.text}', expected: !, identifier, or 'end of string'`);
      }
      requirements.push(this.requirement());
      const after = this.next();
      if (after.type === 'end') return requirements;
      if (after.text !== ',') throw new Error(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.type !== 'identifier' && following.text !== '!') {
        throw new Error(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    const negated = this.peek().text === '!';
    if (negated) this.next();
    const keyToken = this.next();
    if (keyToken.type !== 'identifier') throw new Error(`found '${keyToken.text}', expected: identifier`);
    const key = keyToken.text;
    const keyError = labelKeyError(key);
    if (keyError !== undefined) throw new Error(`unable to parse requirement: key: Invalid value: "${key}": ${keyError}`);
    const lookahead = this.peek();
    if (negated) return { key, operator: '!', values: [] };
    if (lookahead.type === 'end' || lookahead.text === ',') return { key, operator: 'exists', values: [] };
    const operator = this.operator();
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : [this.exactValue()];
    for (const value of values) {
      const valueError = operator === 'gt' || operator === 'lt' ? integerError(value) : labelValueError(value);
      if (valueError !== undefined) {
        throw new Error(`unable to parse requirement: values[0][${key}]: Invalid value: "${value}": ${valueError}`);
      }
    }
    return { key, operator, values };
  }

  private operator(): LabelOperator {
    const token = this.next();
    const map: Readonly<Record<string, LabelOperator>> = { '=': '=', '==': '==', '!=': '!=', '>': 'gt', '<': 'lt', in: 'in', notin: 'notin' };
    const operator = map[token.text];
    if (operator === undefined) throw new Error(`found '${token.text}', expected: in, notin, =, ==, !=, gt, lt`);
    return operator;
  }

  private exactValue(): string {
    const token = this.peek();
    if (token.type === 'end' || token.text === ',') return '';
    if (token.type !== 'identifier') throw new Error(`found '${token.text}', expected: identifier`);
    this.next();
    return token.text;
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.text !== '(') throw new Error(`found '${open.text}' expected: '('`);
    const values: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.type === 'identifier') values.push(token.text);
      else if (token.text === ')') return values.length === 0 ? [''] : values;
      else if (token.text === ',') {
        if (values.length === 0) values.push('');
        const following = this.peek();
        if (following.text === ',' || following.text === ')') values.push('');
        continue;
      } else throw new Error(`found '${token.text}', expected: ',', ')' or identifier`);
      const after = this.peek();
      if (after.text !== ',' && after.text !== ')') throw new Error(`found '${after.text}', expected: ',' or ')'`);
    }
  }
}

function integerError(value: string): string | undefined {
  return /^-?\d+$/.test(value) ? undefined : 'for \'Gt\', \'Lt\' operators, the value must be an integer';
}

/** Parses a label selector, or throws a 400 ApiError with the apimachinery message. */
export function parseLabelSelector(text: string): LabelSelector {
  try {
    return new SelectorParser(lex(text)).parse();
  } catch (error) {
    throw badRequest(error instanceof Error ? error.message : String(error));
  }
}

/** True when `labels` satisfy every requirement. */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every(({ key, operator, values }) => {
    const value = labels[key];
    switch (operator) {
      case 'exists':
        return value !== undefined;
      case '!':
        return value === undefined;
      case '=':
      case '==':
      case 'in':
        return value !== undefined && values.includes(value);
      case '!=':
      case 'notin':
        return value === undefined || !values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        const bound = Number(values[0]);
        return operator === 'gt' ? Number(value) > bound : Number(value) < bound;
      }
    }
  });
}

/** The selector of a `matchLabels`/`matchExpressions` object (a LabelSelector in an object). */
export function selectorFromObject(selector: JsonObject | undefined): LabelSelector | undefined {
  if (selector === undefined) return undefined;
  const requirements: LabelRequirement[] = [];
  const matchLabels = selector.matchLabels;
  if (isJsonObject(matchLabels)) {
    for (const [key, value] of Object.entries(matchLabels)) if (typeof value === 'string') requirements.push({ key, operator: '=', values: [value] });
  }
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const expression of expressions) {
    if (!isJsonObject(expression)) continue;
    const operators: Readonly<Record<string, LabelOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };
    const operator = typeof expression.operator === 'string' ? operators[expression.operator] : undefined;
    if (operator === undefined) continue;
    const values = Array.isArray(expression.values) ? expression.values.filter((value): value is string => typeof value === 'string') : [];
    if (typeof expression.key === 'string') requirements.push({ key: expression.key, operator, values });
  }
  return requirements;
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Parses a field selector (`metadata.name=x,status.phase!=Running`), checking the keys. */
export function parseFieldSelector(text: string, supported: readonly string[]): FieldRequirement[] {
  const terms = splitUnescaped(text);
  return terms.map((term) => {
    const match = /^(.*?)(!=|==|=)(.*)$/.exec(term);
    if (match === null) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = unescape(match[1] ?? '');
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, operator: match[2] === '!=' ? '!=' : '=', value: unescape(match[3] ?? '') };
  });
}

function splitUnescaped(text: string): string[] {
  if (text.trim() === '') return [];
  const terms: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    if (char === '\\') {
      current += char + (text[index + 1] ?? '');
      index++;
    } else if (char === ',') {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  return terms;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** The value of a dotted field path in an object, as the field selector compares it. */
export function fieldValue(object: JsonObject, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) current = isJsonObject(current) ? current[part] : undefined;
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return '';
}

/** True when the object satisfies every field requirement. */
export function matchesFields(requirements: readonly FieldRequirement[], object: JsonObject): boolean {
  return requirements.every(({ field, operator, value }) => (fieldValue(object, field) === value) === (operator === '='));
}
