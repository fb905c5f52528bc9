/**
 * How `cheops kubectl` reads and rewrites kubectl's argument list. kubectl cannot add a header, so
 * a scope rides in the server URL (`<front>/scope/<percent-encoded scope>`), which kubectl keeps
 * in front of every path it calls. Everything here is pure: no files, no processes.
 *
 * Only the arguments before the first `--` are kubectl's own flags; what follows a `--` belongs to
 * the command kubectl runs (`kubectl exec pod -- sh -c 'echo --scope'`) and is never touched.
 */

/** A value, or a message for the user. */
export type ArgsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** kubectl's arguments with the scope taken out. */
export interface ScopeExtraction {
  /** The scope text as the user wrote it; undefined when no scope was given. */
  readonly scope: string | undefined;
  /** Every other argument, unchanged and in order. */
  readonly args: readonly string[];
}

const separator = '--';

/** `--scope`, `-scope` (the papers' spelling), alone or followed by `=` or a glued `{`. */
const scopeFlag = /^--?scope(?=$|=|\{|\s)/;

/** How many `{` are still open in `text`: a glued scope that the shell split at spaces goes on. */
function openBraces(text: string): number {
  let depth = 0;
  for (const character of text) {
    if (character === '{') depth += 1;
    else if (character === '}') depth -= 1;
  }
  return depth;
}

/**
 * Takes the scope out of kubectl's arguments. Accepted anywhere before the first `--`:
 * `--scope EXPR`, `--scope=EXPR`, `--scope{Site1&Site2}`, `-scope{…}` (and `-scope EXPR`,
 * `-scope=EXPR`). When the shell split an unquoted scope at its spaces (`--scope{pods: Site1}`
 * typed without quotes), the following arguments are joined back with one space until the braces
 * balance, since no kubectl argument could have been meant there.
 */
export function extractScope(args: readonly string[]): ArgsResult<ScopeExtraction> {
  const kept: string[] = [];
  let scope: string | undefined;
  let flagSeen: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === separator) {
      kept.push(...args.slice(index));
      break;
    }
    const match = scopeFlag.exec(arg);
    if (match === null) {
      kept.push(arg);
      continue;
    }
    const flag = match[0];
    let text = arg.slice(flag.length);
    if (text.startsWith('=')) text = text.slice(1);
    else if (text === '') {
      const next = args[index + 1];
      if (next === undefined || next === separator) return { ok: false, error: `${flag} needs a scope, such as ${flag} '{Site1 & Site2}'` };
      text = next;
      index += 1;
    }
    while (text.trimStart().startsWith('{') && openBraces(text) > 0 && args[index + 1] !== undefined && args[index + 1] !== separator) {
      text = `${text} ${args[index + 1] ?? ''}`;
      index += 1;
    }
    if (text.trim() === '') return { ok: false, error: `${flag} needs a scope, such as ${flag} '{Site1 & Site2}'` };
    if (scope !== undefined && scope.trim() !== text.trim()) {
      return { ok: false, error: `two different scopes: ${JSON.stringify(scope)} (${flagSeen ?? flag}) and ${JSON.stringify(text)} (${flag})` };
    }
    scope = text;
    flagSeen = flag;
  }
  return { ok: true, value: { scope, args: kept } };
}

/** One kubectl flag, as kubectl's flag parser (pflag) accepts it. */
export interface FlagSpec {
  /** `server` for `--server`. */
  readonly long: string;
  /** `s` for `-s`, when the flag has a shorthand. */
  readonly short?: string;
}

/** Where one occurrence of a flag's value sits in the argument list. */
export interface FlagOccurrence {
  /** The index of the argument that holds the value. */
  readonly index: number;
  /** What comes before the value in that argument: `--server=`, `-s`, or `` for a separate value. */
  readonly prefix: string;
  readonly value: string;
}

/** The kubectl flags `cheops kubectl` reads to find the front. */
export const kubectlFlags = {
  server: { long: 'server', short: 's' },
  context: { long: 'context' },
  cluster: { long: 'cluster' },
  kubeconfig: { long: 'kubeconfig' },
  raw: { long: 'raw' },
} as const satisfies Record<string, FlagSpec>;

/**
 * Every occurrence of a flag before the first `--`, in order: `--name value`, `--name=value`, and
 * for a shorthand `-s value`, `-s=value`, `-svalue`. kubectl takes the last one when a flag repeats.
 */
export function findFlag(args: readonly string[], spec: FlagSpec): FlagOccurrence[] {
  const found: FlagOccurrence[] = [];
  const long = `--${spec.long}`;
  const short = spec.short === undefined ? undefined : `-${spec.short}`;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === separator) break;
    if (arg === long || arg === short) {
      const value = args[index + 1];
      if (value !== undefined) found.push({ index: index + 1, prefix: '', value });
      index += 1;
    } else if (arg.startsWith(`${long}=`)) {
      found.push({ index, prefix: `${long}=`, value: arg.slice(long.length + 1) });
    } else if (short !== undefined && arg.startsWith(short) && !arg.startsWith('--')) {
      const prefix = arg.startsWith(`${short}=`) ? `${short}=` : short;
      found.push({ index, prefix, value: arg.slice(prefix.length) });
    }
  }
  return found;
}

/** The value kubectl would use for a flag: its last occurrence. */
export function lastFlagValue(args: readonly string[], spec: FlagSpec): string | undefined {
  return findFlag(args, spec).at(-1)?.value;
}

/** `/scope/<percent-encoded scope>`, the path prefix the front reads. */
export function scopePath(scope: string): string {
  return `/scope/${encodeURIComponent(scope.trim())}`;
}

/**
 * The front's URL with the scope as a path prefix: `http://127.0.0.1:7001/scope/%7BSite1%26Site2%7D`.
 * A front reached under a path (behind a proxy) keeps it; a `/scope/…` already at the end of the
 * URL (a kubeconfig context made for one scope) is replaced, as the scope on the command line is
 * the one the user means now.
 */
export function scopedServerUrl(front: string, scope: string): ArgsResult<string> {
  let url: URL;
  try {
    url = new URL(front);
  } catch {
    return { ok: false, error: `the server ${JSON.stringify(front)} is not a URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `the server ${JSON.stringify(front)} is not an http:// or https:// URL` };
  }
  const base = url.pathname.replace(/\/+$/, '').replace(/\/scope\/[^/]*$/, '');
  url.pathname = `${base}${scopePath(scope)}`;
  // The path setter keeps existing percent-escapes, so `%7B` and `%26` reach kubectl as written.
  return { ok: true, value: url.href };
}

/**
 * kubectl's arguments with the server set to `server`: every `--server`/`-s` value replaced in
 * place, or, when none was given, `--server=<server>` added just before the first `--` (or at the
 * end). Added at the end rather than the start so that kubectl still finds a plugin named by the
 * first argument; kubectl reads global flags anywhere before `--`.
 */
export function withServer(args: readonly string[], server: string): string[] {
  const occurrences = findFlag(args, kubectlFlags.server);
  const rewritten = [...args];
  if (occurrences.length > 0) {
    for (const { index, prefix } of occurrences) rewritten[index] = `${prefix}${server}`;
    return rewritten;
  }
  const at = rewritten.indexOf(separator);
  rewritten.splice(at === -1 ? rewritten.length : at, 0, `--server=${server}`);
  return rewritten;
}

/**
 * kubectl's arguments with the scope prefixed to the path of `--raw` (`get --raw /api/v1/pods`):
 * kubectl sends a raw path as given, without the server URL's path, so the prefix must be in it.
 */
export function withRawScope(args: readonly string[], scope: string): string[] {
  const rewritten = [...args];
  for (const { index, prefix, value } of findFlag(args, kubectlFlags.raw)) {
    if (value.startsWith('/') && !value.startsWith('/scope/')) rewritten[index] = `${prefix}${scopePath(scope)}${value}`;
  }
  return rewritten;
}
