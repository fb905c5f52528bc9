/**
 * `cheops up`: a local deployment of N sites, each a real `cheops node` process with the embedded
 * stand-in Kubernetes API, all peered over libp2p on loopback through link relays that play the
 * network between them (`--latency`, `--loss`, `--bandwidth`; partitions through the control API);
 * a kubeconfig with one context per site. What `npm start` runs.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { CheopsError, ErrorCode } from '../core/index.js';
import { createLogger } from '../core/system.js';
import { parseHostPort } from '../node/config.js';
import {
  describeConditions, idealLink, linkConditions, parseBandwidth, parseLatency, parseLoss, RelayMesh, type LinkConditions,
} from '../simulator/relay/index.js';
import { controlFileName, type ControlFile } from './control-commands.js';
import { renderKubeconfig } from './kubeconfig.js';
import { LocalDeployment, planSites, type PlannedSite } from './local-deployment.js';
import { untilSignal } from './signals.js';
import { startControlServer } from './up-control.js';

export { planSites, type PlannedSite } from './local-deployment.js';

export interface UpOptions {
  readonly sites: number;
  readonly basePort: number;
  readonly data: string;
  readonly latency?: string;
  readonly loss?: string;
  readonly bandwidth?: string;
  /** HOST:PORT of the control API; default 127.0.0.1:<base port>. */
  readonly control?: string;
  /** False with `--no-warm-up`: the sites start listening without compiling their document paths first. */
  readonly warmUp: boolean;
}

function positiveInteger(name: string, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1 || number > max) {
      throw new CheopsError(ErrorCode.ConfigInvalid, `invalid ${name} ${JSON.stringify(value)}: expected an integer from 1 to ${max}`);
    }
    return number;
  };
}

export function upCommand(): Command {
  return new Command('up')
    .description('start a local deployment: N sites, each with the stand-in Kubernetes API, all peered through link relays')
    .option('--sites <n>', 'number of sites', positiveInteger('--sites', 50), 3)
    .option('--base-port <port>', "site k's front listens on base+k, its peer-to-peer port on base+100+k; the control API on base", positiveInteger('--base-port', 65_000), 7000)
    .option('--data <dir>', 'where the sites keep their stores, logs and the kubeconfig', '.cheops')
    .option('--latency <delay>', 'one-way delay between any two sites: 50ms, 20-80ms, 50ms+-10ms, 50ms,p99=200ms', '0ms')
    .option('--loss <rate>', 'packet loss between sites (1%); TCP retransmits, so it shows as delay spikes, never as lost bytes')
    .option('--bandwidth <rate>', 'bandwidth of each link, each way (10mbit, 2MB/s); default unlimited')
    .option('--control <host:port>', 'where the control API listens (default 127.0.0.1:<base port>)')
    .option('--no-warm-up', 'sites start listening without first compiling their document paths (2–3 s of one core each): quicker to start many sites, slower for their first documents')
    .addHelpText(
      'after',
      '\nThe network between the sites can be changed while it runs:\n' +
        '  cheops partition Site3             cut Site3 off from the others (--mode blackhole: drop instead of reset)\n' +
        '  cheops heal [Site3]                heal its links, or every link\n' +
        '  cheops link Site1 Site2 --latency 100ms [--loss 1%] [--bandwidth 10mbit] [--one-way]\n' +
        '  cheops links                       every link: state, conditions, bytes\n',
    )
    .action(async (options: UpOptions) => {
      await up(options);
    });
}

/** The link conditions the flags ask for, checked before anything starts. */
export function conditionsOf(options: Pick<UpOptions, 'latency' | 'loss' | 'bandwidth'>): LinkConditions {
  return linkConditions({
    latency: parseLatency(options.latency ?? '0ms'),
    loss: options.loss === undefined ? 0 : parseLoss(options.loss),
    bandwidthBytesPerSecond: options.bandwidth === undefined ? undefined : parseBandwidth(options.bandwidth),
  }, idealLink);
}

async function up(options: UpOptions): Promise<void> {
  const logger = createLogger({ level: 'warn' });
  const conditions = conditionsOf(options);
  const control = parseHostPort('--control', options.control ?? `127.0.0.1:${options.basePort}`);
  const data = resolve(options.data);
  const planned = planSites(options);
  const kubeconfig = join(data, 'kubeconfig');
  await mkdir(data, { recursive: true });
  await writeFile(kubeconfig, renderKubeconfig(planned.map((site) => ({ name: site.name, server: `http://127.0.0.1:${site.httpPort}` }))));

  // The relays and the control API first: a control port already taken stops everything before any site starts.
  const mesh = await RelayMesh.start({ sites: planned, conditions });
  const server = await startControlServer(mesh, control.host, control.port).catch(async (error: unknown) => {
    await mesh.close();
    throw error;
  });
  const deployment = await LocalDeployment.start({ ...options, conditions, mesh, progress: (line) => process.stdout.write(`${line}\n`) }).catch(
    async (error: unknown) => {
      await server.close();
      throw error;
    },
  );
  const controlFile = join(data, controlFileName);
  const file: ControlFile = { url: server.url, pid: process.pid };
  await writeFile(controlFile, `${JSON.stringify(file)}\n`);
  process.stdout.write(describeDeployment(planned, kubeconfig, { conditions, controlUrl: server.url, data: options.data }));
  await untilSignal(logger);
  process.stdout.write('stopping the sites …\n');
  const stopping = performance.now();
  await rm(controlFile, { force: true });
  await server.close();
  await deployment.stop();
  process.stdout.write(`stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s\n`);
  // Everything it started is stopped: a leftover keep-alive socket or timer must not keep it running.
  process.exit(0);
}

/** What `cheops up` says about its network and how to change it. */
export interface NetworkDescription {
  readonly conditions: LinkConditions;
  readonly controlUrl: string;
  /** The `--data` given, to repeat in the printed commands when it is not the default. */
  readonly data: string;
}

export function describeDeployment(sites: readonly PlannedSite[], kubeconfig: string, network?: NetworkDescription): string {
  const rows = sites.map((site) => [site.name, `http://127.0.0.1:${site.httpPort}`, `/ip4/127.0.0.1/tcp/${site.p2pPort}`, site.logFile]);
  const header = ['SITE', 'FRONT (kubectl context)', 'PEER-TO-PEER', 'LOG'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const first = sites[0]?.name ?? 'Site1';
  const second = sites[1]?.name ?? first;
  const last = sites.at(-1)?.name ?? first;
  return [
    '',
    `Cheops is running ${sites.length} site${sites.length === 1 ? '' : 's'}, each with its own Kubernetes API:`,
    '',
    `  ${line(header)}`,
    ...rows.map((row) => `  ${line(row)}`),
    '',
    'Try:',
    `  export KUBECONFIG=${kubeconfig}`,
    `  kubectl --context ${first} create deployment web --image=nginx --replicas=2`,
    `  curl -s http://127.0.0.1:${sites[0]?.httpPort ?? 7001}/cheops/v1/sites`,
    `  kubectl --context ${second} get pods     # ${second} is autonomous: its own cluster`,
    '',
    `Dashboards: ${sites.map((site) => `http://127.0.0.1:${site.httpPort}/cheops/dashboard`).join('  ')}`,
    '',
    ...(network === undefined ? [] : describeNetwork(network, first, second, last)),
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

function describeNetwork(network: NetworkDescription, first: string, second: string, last: string): string[] {
  const where = network.data === '.cheops' ? '' : ` --data ${network.data}`;
  const commands: Array<[string, string]> = [
    [`cheops partition ${last}${where}`, `cut ${last} off: its links reset, it keeps serving its own users`],
    [`cheops heal${where}`, 'heal every link; the sites reconnect and converge'],
    [`cheops link ${first} ${second} --latency 100ms${where}`, 'change a link (also --loss 1%, --bandwidth 10mbit)'],
    [`cheops links${where}`, 'every link: state, conditions, bytes'],
  ];
  const width = Math.max(...commands.map(([command]) => command.length));
  return [
    `Between two sites: ${describeConditions(network.conditions)} one way, through a relay per pair (control API ${network.controlUrl}):`,
    ...commands.map(([command, why]) => `  ${command.padEnd(width)}   # ${why}`),
    '',
  ];
}
