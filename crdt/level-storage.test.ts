import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, isCheopsError } from '../core/errors.js';
import { bundleChild, runUntilAcknowledgedThenKill } from './test-helpers.js';
import { LevelStorage } from './level-storage.js';
import { storageContract } from './storage-contract.js';

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
    const script = await bundleChild(writerSource, await temporaryDirectory());
    await runUntilAcknowledgedThenKill(script, [location]);
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
