/**
 * `cheops up`: a local deployment of N sites, each a real `cheops node` process with the embedded
 * stand-in Kubernetes API, all peered over libp2p on loopback; a kubeconfig with one context per
 * site. What `npm start` runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { CheopsError, ErrorCode } from '../core/index.js';
import { createLogger } from '../core/system.js';
import { renderKubeconfig } from './kubeconfig.js';
import { untilSignal } from './run-site.js';

export interface UpOptions {
  readonly sites: number;
  readonly basePort: number;
  readonly data: string;
}

export interface PlannedSite {
  readonly name: string;
  readonly httpPort: number;
  readonly p2pPort: number;
  readonly dataDir: string;
  readonly logFile: string;
}

const launcher = fileURLToPath(new URL('../../bin/cheops.js', import.meta.url));

/** Site k (1-based): front on base+k, peer-to-peer on base+100+k. */
export function planSites(options: UpOptions): PlannedSite[] {
  return Array.from({ length: options.sites }, (_, index) => {
    const k = index + 1;
    const dataDir = resolve(options.data, `site${k}`);
    return {
      name: `Site${k}`,
      httpPort: options.basePort + k,
      p2pPort: options.basePort + 100 + k,
      dataDir,
      logFile: join(dataDir, 'cheops.log'),
    };
  });
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
    .description('start a local deployment: N sites, each with the stand-in Kubernetes API, all peered')
    .option('--sites <n>', 'number of sites', positiveInteger('--sites', 50), 3)
    .option('--base-port <port>', "site k's front listens on base+k, its peer-to-peer port on base+100+k", positiveInteger('--base-port', 65_000), 7000)
    .option('--data <dir>', 'where the sites keep their stores, logs and the kubeconfig', '.cheops')
    .action(async (options: UpOptions) => {
      await up(options);
    });
}

async function up(options: UpOptions): Promise<void> {
  const logger = createLogger({ level: 'warn' });
  const planned = planSites(options);
  const kubeconfig = resolve(options.data, 'kubeconfig');
  await mkdir(resolve(options.data), { recursive: true });
  await writeFile(kubeconfig, renderKubeconfig(planned.map((site) => ({ name: site.name, server: `http://127.0.0.1:${site.httpPort}` }))));

  const children: ChildProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopChild(child)));
  };
  try {
    for (const site of planned) {
      process.stdout.write(`starting ${site.name} …\n`);
      children.push(await startSiteProcess(site, planned));
    }
    await Promise.all(planned.map((site, index) => waitReady(site, children[index]!)));
  } catch (error) {
    await stopAll();
    throw error;
  }
  process.stdout.write(describeDeployment(planned, kubeconfig));
  await untilSignal(logger);
  process.stdout.write('stopping the sites …\n');
  await stopAll();
}

async function startSiteProcess(site: PlannedSite, all: readonly PlannedSite[]): Promise<ChildProcess> {
  await mkdir(site.dataDir, { recursive: true });
  const log = createWriteStream(site.logFile, { flags: 'a' });
  await new Promise((resolveOpen) => log.once('open', resolveOpen));
  const peers = all.filter((other) => other !== site).flatMap((other) => ['--peer', `/ip4/127.0.0.1/tcp/${other.p2pPort}`]);
  const child = spawn(
    process.execPath,
    [
      launcher, 'node', '--site', site.name, '--data', site.dataDir, '--http', `127.0.0.1:${site.httpPort}`,
      '--p2p', `/ip4/127.0.0.1/tcp/${site.p2pPort}`, '--app', 'standin', ...peers,
    ],
    // Its own process group: Ctrl-C in the terminal reaches `cheops up`, which stops the sites in order.
    { stdio: ['ignore', log, log], detached: true },
  );
  return child;
}

async function waitReady(site: PlannedSite, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = (await readFile(site.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new CheopsError(ErrorCode.ConfigInvalid, `${site.name} exited during start (log ${site.logFile}):\n${tail}`);
    }
    try {
      if ((await fetch(`http://127.0.0.1:${site.httpPort}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new CheopsError(ErrorCode.SiteUnreachable, `${site.name} did not become ready within 30 s (log ${site.logFile})`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

export function describeDeployment(sites: readonly PlannedSite[], kubeconfig: string): string {
  const rows = sites.map((site) => [site.name, `http://127.0.0.1:${site.httpPort}`, `/ip4/127.0.0.1/tcp/${site.p2pPort}`, site.logFile]);
  const header = ['SITE', 'FRONT (kubectl context)', 'PEER-TO-PEER', 'LOG'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const first = sites[0]?.name ?? 'Site1';
  const second = sites[1]?.name ?? first;
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
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}
