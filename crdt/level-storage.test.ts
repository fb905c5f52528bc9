import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { LevelStorage } from './level-storage.js';
import { storageContract } from './storage-contract.js';

const here = dirname(fileURLToPath(import.meta.url));
const directories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cheops-level-'));
  directories.push(directory);
  return directory;
}

afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

storageContract('LevelStorage', async () => LevelStorage.open({ location: await temporaryDirectory() }));

const value = (index: number): Uint8Array => Uint8Array.from({ length: 64 }, (_, offset) => (index + offset) & 0xff);

describe('LevelStorage', () => {
  it('keeps its data across close and reopen', async () => {
    const location = await temporaryDirectory();
    const first = await LevelStorage.open({ location });
    await first.batch([
      { type: 'put', key: ['doc', 'a', 'snapshot'], value: value(1) },
      { type: 'put', key: ['doc', 'a', 'chunk', '1'], value: value(2) },
    ]);
    await first.put(['index', 'a'], value(3));
    // Not synced: no fsync of its own, but in the store once resolved, as far as a process can tell.
    await first.batch([{ type: 'put', key: ['index', 'b'], value: value(4) }], { sync: false });
    await first.close();
    const second = await LevelStorage.open({ location, sync: false });
    expect(await second.get(['index', 'a'])).toEqual(value(3));
    expect(await second.get(['index', 'b'])).toEqual(value(4));
    expect((await second.list(['doc', 'a'])).map((entry) => entry.key)).toEqual([
      ['doc', 'a', 'chunk', '1'],
      ['doc', 'a', 'snapshot'],
    ]);
    await second.close();
  });

  it('refuses a directory another store holds, with CHEOPS_STORAGE_FAILURE', async () => {
    const location = await temporaryDirectory();
    const holder = await LevelStorage.open({ location });
    const error = await LevelStorage.open({ location }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isCheopsError(error, ErrorCode.StorageFailure)).toBe(true);
    await holder.close();
  });

  it('finishes calls under way before it closes', async () => {
    const storage = await LevelStorage.open({ location: await temporaryDirectory() });
    const writes = Array.from({ length: 50 }, (_, index) => storage.put(['k', String(index)], value(index)));
    await storage.close();
    await expect(Promise.all(writes)).resolves.toHaveLength(50);
  });

  it('keeps a write acknowledged before the process is killed with SIGKILL', async () => {
    const location = await temporaryDirectory();
    const script = await bundleWriter(await temporaryDirectory());
    await runWriterUntilAcknowledged(script, location);
    const storage = await LevelStorage.open({ location });
    const entries = await storage.list(['k']);
    expect(entries).toHaveLength(500);
    expect(entries.every((entry, index) => entry.key[1] === String(index).padStart(4, '0'))).toBe(true);
    expect(await storage.get(['last'])).toEqual(value(7));
    await storage.close();
  });
});

/** The child: writes through LevelStorage, prints "acked" once the writes resolve, then waits to be killed. */
const writerSource = `
import { LevelStorage } from './level-storage.ts';
const value = (index) => Uint8Array.from({ length: 64 }, (_, offset) => (index + offset) & 0xff);
async function main() {
  const storage = await LevelStorage.open({ location: process.argv[2] });
  const operations = [];
  for (let index = 0; index < 500; index += 1) {
    operations.push({ type: 'put', key: ['k', String(index).padStart(4, '0')], value: value(index) });
  }
  await storage.batch(operations);
  await storage.put(['last'], value(7));
  process.stdout.write('acked\\n');
  setInterval(() => undefined, 1000);
}
main().catch((error) => { console.error(error); process.exit(1); });
`;

/** Node 20 cannot run TypeScript: bundle the child with esbuild (vitest's own transformer), `level` left outside. */
async function bundleWriter(directory: string): Promise<string> {
  const outfile = join(directory, 'writer.cjs');
  await build({
    stdin: { contents: writerSource, resolveDir: here, sourcefile: 'writer.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['level'],
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

function runWriterUntilAcknowledged(script: string, location: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [script, location], {
      env: { ...process.env, NODE_PATH: join(here, '..', 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    let acknowledged = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!acknowledged && output.includes('acked')) {
        acknowledged = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (acknowledged && signal === 'SIGKILL') resolve();
      else reject(new Error(`the writer did not acknowledge before it ended (${String(signal)}): ${errors}`));
    });
  });
}
