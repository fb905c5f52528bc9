/**
 * The typed configuration of one site, its documented defaults, and its validation. Values come
 * from a config file (YAML or JSON, `--config`) and from flags, flags winning; every bad value is
 * reported as one CHEOPS_CONFIG_INVALID error naming the flag or key, so the CLI can print one line.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { CheopsError, ErrorCode, errorMessage, isSiteName, type SiteName } from '../core/index.js';

export type LogLevelSetting = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Where the local application is: a URL, the embedded stand-in Kubernetes API, or none yet. */
export type AppSetting =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'standin' }
  | { readonly kind: 'none' };

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly site: SiteName;
  /** Directory of the site's store (documents, peer key, stand-in state). */
  readonly dataDir: string;
  /** Where the HTTP front listens. */
  readonly http: HostPort;
  /** The URL other sites and users reach the front at (defaults to http://host:port). */
  readonly advertisedHttp: string;
  /** The libp2p listen multiaddr (`/ip4/127.0.0.1/tcp/9001`). */
  readonly p2p: string;
  /** Multiaddrs of peers to dial at start and stay connected to; `/p2p/<id>` may be omitted. */
  readonly peers: readonly string[];
  /**
   * Multiaddrs other sites should dial instead of the listening one (published in the site
   * directory): a public address in front of a wildcard bind, a NAT, or a relay. Empty: the
   * listening addresses.
   */
  readonly announce: readonly string[];
  readonly app: AppSetting;
  /** One ping per peer per second: enough to see a dead peer within the 5 s the contract allows. */
  readonly heartbeatIntervalMs: number;
  /** Three missed heartbeats mark a peer down; a closed connection marks it down at once. */
  readonly peerDownAfterMs: number;
  /** Anti-entropy between connected peers; heals also trigger it, so this only bounds drift. */
  readonly antiEntropyIntervalMs: number;
  /** Cap of the redial backoff: low enough that a restarted peer is seen up again within 5 s. */
  readonly redialMaxDelayMs: number;
  readonly logLevel: LogLevelSetting;
  /**
   * Compile the document paths before listening (crdt/warm-up.ts): 2–3 s of one core at start,
   * for full speed from the first request and heal. Off (`--no-warm-up`, a flag only: it also
   * decides V8's compiler before anything loads, core/runtime-flags.ts): a faster start (many
   * sites on one small machine), and the first few hundred documents handled several times slower.
   */
  readonly warmUp: boolean;
}

/** Everything a user may set; flags and file keys use these names. */
export interface NodeConfigInput {
  site?: string;
  data?: string;
  http?: string;
  advertiseHttp?: string;
  p2p?: string;
  peer?: string | string[];
  announce?: string | string[];
  app?: string;
  heartbeatIntervalMs?: number | string;
  peerDownAfterMs?: number | string;
  antiEntropyIntervalMs?: number | string;
  redialMaxDelayMs?: number | string;
  logLevel?: string;
  /** From `--no-warm-up` only, never from a config file (see NodeConfig.warmUp). */
  warmUp?: boolean;
}

export const configDefaults = {
  http: '127.0.0.1:7001',
  p2p: '/ip4/127.0.0.1/tcp/9001',
  heartbeatIntervalMs: 1000,
  peerDownAfterMs: 3000,
  antiEntropyIntervalMs: 30_000,
  redialMaxDelayMs: 2000,
  logLevel: 'info',
  warmUp: true,
} as const;

const logLevels: readonly LogLevelSetting[] = ['debug', 'info', 'warn', 'error', 'silent'];

function invalid(name: string, value: unknown, expected: string): CheopsError {
  return new CheopsError(
    ErrorCode.ConfigInvalid,
    `invalid ${name} ${JSON.stringify(value)}: expected ${expected}`,
    { details: { name, value, expected } },
  );
}

function missing(name: string, expected: string): CheopsError {
  return new CheopsError(ErrorCode.ConfigInvalid, `missing ${name}: expected ${expected} (as a flag or in --config)`, {
    details: { name, expected },
  });
}

export function parseHostPort(name: string, value: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid(name, value, 'HOST:PORT, for example 127.0.0.1:7001');
  }
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

function parseMultiaddr(name: string, value: string): string {
  if (!/^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/[A-Za-z0-9]+)?$/.test(value.trim())) {
    throw invalid(name, value, 'a TCP multiaddr such as /ip4/127.0.0.1/tcp/9001[/p2p/<peer id>]');
  }
  return value.trim();
}

function parseApp(value: string | undefined): AppSetting {
  if (value === undefined || value === '' || value === 'none') return { kind: 'none' };
  if (value === 'standin') return { kind: 'standin' };
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      return { kind: 'url', url: url.href.replace(/\/$/, '') };
    }
  } catch {
    // fall through to the error below
  }
  throw invalid('--app', value, "an http(s) URL of the local application, or 'standin'");
}

function parseDuration(name: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number) || number <= 0) throw invalid(name, value, 'a positive number of milliseconds');
  return number;
}

/** Validates `input` (flags merged over file values) into a NodeConfig. */
export function resolveNodeConfig(input: NodeConfigInput): NodeConfig {
  if (input.site === undefined) throw missing('--site', 'a site name such as Site1');
  if (!isSiteName(input.site)) throw invalid('--site', input.site, "a letter followed by letters, digits, '_' or '-'");
  if (input.data === undefined || input.data.trim() === '') throw missing('--data', "the directory of the site's store");
  const http = parseHostPort('--http', input.http ?? configDefaults.http);
  const logLevel = input.logLevel ?? configDefaults.logLevel;
  if (!logLevels.includes(logLevel as LogLevelSetting)) throw invalid('--log-level', logLevel, logLevels.join(', '));
  const peers = input.peer === undefined ? [] : Array.isArray(input.peer) ? input.peer : [input.peer];
  const announce = input.announce === undefined ? [] : Array.isArray(input.announce) ? input.announce : [input.announce];
  const advertisedHttp = input.advertiseHttp ?? `http://${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port}`;
  return {
    site: input.site,
    dataDir: input.data,
    http,
    advertisedHttp,
    p2p: parseMultiaddr('--p2p', input.p2p ?? configDefaults.p2p),
    peers: peers.map((peer) => parseMultiaddr('--peer', peer)),
    announce: announce.map((address) => parseMultiaddr('--announce', address)),
    app: parseApp(input.app),
    heartbeatIntervalMs: parseDuration('heartbeatIntervalMs', input.heartbeatIntervalMs, configDefaults.heartbeatIntervalMs),
    peerDownAfterMs: parseDuration('peerDownAfterMs', input.peerDownAfterMs, configDefaults.peerDownAfterMs),
    antiEntropyIntervalMs: parseDuration('antiEntropyIntervalMs', input.antiEntropyIntervalMs, configDefaults.antiEntropyIntervalMs),
    redialMaxDelayMs: parseDuration('redialMaxDelayMs', input.redialMaxDelayMs, configDefaults.redialMaxDelayMs),
    logLevel: logLevel as LogLevelSetting,
    warmUp: input.warmUp ?? configDefaults.warmUp,
  };
}

const fileKeys = new Set<string>([
  'site', 'data', 'http', 'advertiseHttp', 'p2p', 'peer', 'peers', 'announce', 'app', 'heartbeatIntervalMs',
  'peerDownAfterMs', 'antiEntropyIntervalMs', 'redialMaxDelayMs', 'logLevel',
]);

/** Reads a YAML or JSON config file into NodeConfigInput; unknown keys are errors, not ignored. */
export async function readConfigFile(path: string): Promise<NodeConfigInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CheopsError(ErrorCode.ConfigInvalid, `cannot read --config ${path}: ${errorMessage(error)}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new CheopsError(ErrorCode.ConfigInvalid, `invalid --config ${path}: ${errorMessage(error).split('\n')[0] ?? ''}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CheopsError(ErrorCode.ConfigInvalid, `invalid --config ${path}: expected a mapping of settings`);
  }
  const input: NodeConfigInput = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!fileKeys.has(key)) {
      throw new CheopsError(ErrorCode.ConfigInvalid, `invalid --config ${path}: unknown key '${key}'`, { details: { key } });
    }
    if (key === 'peer' || key === 'peers' || key === 'announce') {
      if (!Array.isArray(value) && typeof value !== 'string') throw invalid(`${key} in ${path}`, value, 'a list of multiaddrs');
      const addresses = Array.isArray(value) ? value.map(String) : value;
      if (key === 'announce') input.announce = addresses;
      else input.peer = addresses;
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number') throw invalid(`${key} in ${path}`, value, 'a string or number');
    (input as Record<string, unknown>)[key] = value;
  }
  return input;
}
