/**
 * `cheops partition`, `cheops heal`, `cheops link` and `cheops links`: the network between the
 * sites of a running `cheops up`, through its control API (cli/up-control.ts). The API is found
 * from `--control URL`, else `$CHEOPS_CONTROL`, else the `control.json` that `cheops up` writes in
 * its data directory (`--data`, default `.cheops`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { CheopsError, ErrorCode, errorMessage } from '../core/index.js';
import { cutModes, type LinkStatus } from '../simulator/relay/index.js';

/** What `cheops up` writes to `<data>/control.json` while it runs. */
export interface ControlFile {
  readonly url: string;
  readonly pid: number;
}

export const controlFileName = 'control.json';

interface Located {
  readonly control?: string;
  readonly data: string;
}

async function controlUrl(options: Located): Promise<string> {
  if (options.control !== undefined) return options.control.replace(/\/$/, '');
  const fromEnv = process.env.CHEOPS_CONTROL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.replace(/\/$/, '');
  const file = join(options.data, controlFileName);
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ControlFile>;
    if (typeof parsed.url === 'string') return parsed.url;
  } catch {
    // reported below
  }
  throw new CheopsError(ErrorCode.ConfigInvalid, `no running cheops up found (${file} is missing): start one, or pass --data DIR or --control URL`);
}

/** Sends one request to the control API; its JSON answer, or one clear error. */
async function call<T>(options: Located, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = await controlUrl(options);
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    throw new CheopsError(ErrorCode.SiteUnreachable, `the control API of cheops up at ${url} does not answer: ${errorMessage(error)} (is cheops up still running?)`, { cause: error });
  }
  const answer = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new CheopsError(ErrorCode.ConfigInvalid, answer.error ?? `${method} ${path}: HTTP ${response.status}`);
  return answer;
}

function withLocation(command: Command): Command {
  return command
    .option('--data <dir>', 'the data directory of the cheops up to control', '.cheops')
    .option('--control <url>', 'the control API of cheops up (default: from <data>/control.json, or $CHEOPS_CONTROL)');
}

const pairs = (links: ReadonlyArray<readonly [string, string]>): string => links.map(([a, b]) => `${a}–${b}`).join(', ');

/** `cheops partition Site3` or `cheops partition Site1,Site2 Site3`. */
function partitionCommand(): Command {
  return withLocation(new Command('partition'))
    .description('cut sites off: every link between sites of different groups is cut (sites left out form one more group)')
    .argument('<group...>', 'a group of sites, comma-separated (Site3, or Site1,Site2)')
    .addOption(new Option('--mode <mode>', "'reset': connections reset and new ones refused; 'blackhole': nothing crosses, nothing is refused").choices(cutModes).default('reset'))
    .action(async (groups: string[], options: Located & { mode: string }) => {
      const body = { groups: groups.map((group) => group.split(',').map((site) => site.trim()).filter((site) => site !== '')), mode: options.mode };
      const { cut } = await call<{ cut: Array<[string, string]> }>(options, 'POST', '/v1/partition', body);
      process.stdout.write(cut.length === 0 ? 'no link to cut\n' : `cut (${options.mode}): ${pairs(cut)}\n`);
    });
}

function healCommand(): Command {
  return withLocation(new Command('heal'))
    .description('heal the links of these sites, or every link; the sites reconnect by themselves')
    .argument('[site...]', 'sites whose links to heal (default: all)')
    .action(async (sites: string[], options: Located) => {
      const { healed } = await call<{ healed: Array<[string, string]> }>(options, 'POST', '/v1/heal', sites.length === 0 ? {} : { sites });
      process.stdout.write(healed.length === 0 ? 'no link was cut\n' : `healed: ${pairs(healed)}\n`);
    });
}

function linkCommand(): Command {
  return withLocation(new Command('link'))
    .description('change the conditions of the link between two sites (both ways unless --one-way)')
    .argument('<from>', 'a site')
    .argument('<to>', 'another site')
    .option('--latency <delay>', 'one-way delay: 50ms, 20-80ms, 50ms+-10ms, 50ms,p99=200ms')
    .option('--loss <rate>', 'packet loss, as TCP shows it: retransmission delays (1%)')
    .option('--bandwidth <rate>', "10mbit, 512kbit, 2MB/s, or 'unlimited'")
    .option('--one-way', 'only from <from> to <to>')
    .action(async (from: string, to: string, options: Located & { latency?: string; loss?: string; bandwidth?: string; oneWay?: boolean }) => {
      const { latency, loss, bandwidth } = options;
      const body = { from, to, oneWay: options.oneWay === true, ...(latency === undefined ? {} : { latency }), ...(loss === undefined ? {} : { loss }), ...(bandwidth === undefined ? {} : { bandwidth }) };
      const { items } = await call<{ items: LinkStatus[] }>(options, 'POST', '/v1/link', body);
      process.stdout.write(formatLinks(items));
    });
}

function linksCommand(): Command {
  return withLocation(new Command('links'))
    .description('show every link between the sites of cheops up: state, conditions, bytes')
    .option('--json', 'print the JSON the control API answers')
    .action(async (options: Located & { json?: boolean }) => {
      const answer = await call<{ items: LinkStatus[] }>(options, 'GET', '/v1/links');
      process.stdout.write(options.json === true ? `${JSON.stringify(answer, null, 2)}\n` : formatLinks(answer.items));
    });
}

/** The links as a table, one line per link. */
export function formatLinks(links: readonly LinkStatus[]): string {
  const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
  const rows = links.map((link) => [
    `${link.from}→${link.to}`, link.state, link.forward, link.backward,
    kib(link.stats.forward.bytesOut), kib(link.stats.backward.bytesOut), String(link.stats.open), link.relay,
  ]);
  const header = ['LINK', 'STATE', 'CONDITIONS →', 'CONDITIONS ←', 'KiB →', 'KiB ←', 'CONNS', 'RELAY'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** The commands that control a running `cheops up`. */
export function controlCommands(): Command[] {
  return [partitionCommand(), healCommand(), linkCommand(), linksCommand()];
}
