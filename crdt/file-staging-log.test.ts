import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLogger } from '../core/logger.js';
import { FileStagingLog } from './file-staging-log.js';
import { MemoryStagingLog, type StagingLog } from './staging-log.js';
import { bundleChild, runUntilAcknowledgedThenKill } from './test-helpers.js';

const directories: string[] = [];

async function logPath(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cheops-staging-'));
  directories.push(directory);
  return join(directory, 'staging.log');
}

afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const texts = (log: StagingLog): string[] => log.leftovers().map(({ id, record }) => `${id}=${new TextDecoder().decode(record)}`);
/** What the next process reads back from the log at `path`. */
const readBack = (path: string): string[] => texts(FileStagingLog.open(path, new MemoryLogger()));

describe('FileStagingLog', () => {
  it('reads back, in order, what was staged and not settled before the process went', async () => {
    const path = await logPath();
    const first = FileStagingLog.open(path, new MemoryLogger());
    expect(first.leftovers()).toEqual([]);
    first.stage('a', bytes('one'));
    first.stage('b', bytes('two'));
    first.stage('c', bytes('three'));
    first.settle('b');
    first.close();
    const second = FileStagingLog.open(path, new MemoryLogger());
    expect(texts(second)).toEqual(['a=one', 'c=three']);
    // Those the caller holds elsewhere now, the next start does not read back; the others it does.
    second.forgetLeftovers(['a']);
    expect(texts(second)).toEqual(['c=three']);
    second.stage('d', bytes('four'));
    second.close();
    expect(readBack(path)).toEqual(['c=three', 'd=four']);
  });

  it('cuts off a frame torn by a crash mid-append, and reads back what is appended after it', async () => {
    const path = await logPath();
    const first = FileStagingLog.open(path, new MemoryLogger());
    first.stage('a', bytes('whole'));
    first.close();
    const whole = (await stat(path)).size;
    await appendFile(path, Buffer.from([0, 0, 0, 40, 1, 2]));
    const logger = new MemoryLogger();
    const second = FileStagingLog.open(path, logger);
    expect(texts(second)).toEqual(['a=whole']);
    expect(logger.entries.some((entry) => entry.message.includes('torn or corrupt frame'))).toBe(true);
    expect((await stat(path)).size).toBe(whole);
    second.stage('b', bytes('after'));
    second.close();
    expect(readBack(path)).toEqual(['a=whole', 'b=after']);
  });

  it('ends the log at a frame whose checksum fails', async () => {
    const path = await logPath();
    const log = FileStagingLog.open(path, new MemoryLogger());
    log.stage('a', bytes('kept'));
    log.stage('b', bytes('flipped'));
    log.close();
    const content = await readFile(path);
    content.writeUInt8(content.readUInt8(content.length - 1) ^ 0xff, content.length - 1);
    await writeFile(path, content);
    expect(readBack(path)).toEqual(['a=kept']);
  });

  it('empties its file once nothing is open and it has grown past its bound', async () => {
    const path = await logPath();
    const log = FileStagingLog.open(path, new MemoryLogger(), { compactAfterBytes: 200 });
    log.stage('small', bytes('x'));
    log.settle('small');
    // Below its bound: kept as it is.
    expect((await stat(path)).size).toBeGreaterThan(0);
    log.stage('large', bytes('x'.repeat(300)));
    log.settle('large');
    expect((await stat(path)).size).toBe(0);
    log.stage('next', bytes('y'));
    log.close();
    expect(readBack(path)).toEqual(['next=y']);
  });

  it('stays bounded while records are always open: written anew with the open ones alone', async () => {
    const path = await logPath();
    const log = FileStagingLog.open(path, new MemoryLogger(), { compactAfterBytes: 500 });
    log.stage('id-0', bytes('first'));
    for (let index = 1; index < 50; index += 1) {
      log.stage(`id-${index}`, bytes(`record ${index}`));
      log.settle(`id-${index - 1}`);
    }
    expect((await stat(path)).size).toBeLessThan(1_000);
    log.close();
    expect(readBack(path)).toEqual(['id-49=record 49']);
  });

  it('flushes what was staged, one flush for all asked meanwhile; compacts only once no flush holds the file, and closes under one', async () => {
    const path = await logPath();
    const log = FileStagingLog.open(path, new MemoryLogger(), { compactAfterBytes: 200 });
    log.stage('a', bytes('x'.repeat(300)));
    const first = log.flush();
    log.stage('b', bytes('two'));
    const [second, third] = [log.flush(), log.flush()];
    expect(second).toBe(third);
    // Past its bound with a flush under way: kept as it is, and compacted by a later settle.
    log.settle('a');
    expect((await stat(path)).size).toBeGreaterThan(300);
    await Promise.all([first, second]);
    log.stage('c', bytes('three'));
    log.settle('c');
    expect((await stat(path)).size).toBeLessThan(100);
    const last = log.flush();
    log.close();
    await last;
    await expect(log.flush()).rejects.toThrow(/closed/);
    expect(readBack(path)).toEqual(['b=two']);
  });

  it('keeps what was staged when the process is killed with SIGKILL right after', async () => {
    const path = await logPath();
    const script = await bundleChild(stagerSource, await mkdtemp(join(tmpdir(), 'cheops-stager-')));
    await runUntilAcknowledgedThenKill(script, [path]);
    const log = FileStagingLog.open(path, new MemoryLogger());
    expect(log.leftovers().map(({ id }) => id)).toEqual(Array.from({ length: 100 }, (_, index) => `id-${index * 2 + 1}`));
    expect(new TextDecoder().decode(log.leftovers()[0]!.record)).toBe('record 1');
  });
});

describe('MemoryStagingLog', () => {
  it('reads back on reopen what was staged and not settled, the earlier leftovers too until forgotten', () => {
    const first = new MemoryStagingLog();
    first.stage('a', bytes('one'));
    first.stage('b', bytes('two'));
    first.settle('a');
    const second = first.reopen();
    expect(texts(second)).toEqual(['b=two']);
    second.stage('c', bytes('three'));
    expect(texts(second.reopen())).toEqual(['b=two', 'c=three']);
    second.forgetLeftovers(['b']);
    expect(texts(second.reopen())).toEqual(['c=three']);
  });
});

/** The child: stages 200 records, settles every other one, prints "acked" and waits to be killed. */
const stagerSource = `
import { FileStagingLog } from './file-staging-log.ts';
import { silentLogger } from '../core/logger.ts';
const log = FileStagingLog.open(process.argv[2], silentLogger);
for (let index = 0; index < 200; index += 1) log.stage('id-' + index, new TextEncoder().encode('record ' + index));
for (let index = 0; index < 200; index += 2) log.settle('id-' + index);
process.stdout.write('acked\\n');
setInterval(() => undefined, 1000);
`;
