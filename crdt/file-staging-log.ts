/**
 * A StagingLog in one append-only file (staging-log.ts). `stage` is a `write(2)` to a file opened
 * for appending: done when it returns, in the kernel's cache, which outlives the process (not the
 * machine: no fsync). That is the point: LevelDB's writes run on a worker thread, and on a busy
 * machine the hop there and back cost ~0.3 ms, where this costs a few microseconds. `flush` adds
 * the fsync for a record that must outlive the machine (one `fdatasync` on libuv's pool, shared by
 * every flush asked while it runs: group commit).
 *
 * Frames: `u32 length · u32 crc32 · body`, body `u8 kind · u16 id length · id · record`, kind 1
 * staged and 2 settled. Opening reads the file whole: a frame cut short or whose checksum fails
 * ends it (a crash mid-append, or the machine dying before the kernel wrote it) and is cut off,
 * so that later appends are read back. Once the file has grown past `compactAfterBytes` (and
 * twice what is open), it is emptied when nothing is open, else written anew with the open
 * records alone (a new file renamed over it): under a steady stream of creates something is
 * always open. The new file is synced before it is renamed over the old one: a record flushed
 * earlier must not be lost to the machine dying just after the rename.
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { CheopsError, ErrorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StagedRecord, StagingLog } from './staging-log.js';

const staged = 1;
const settled = 2;
const frameHeaderBytes = 8;

export interface FileStagingLogOptions {
  /** Empty the file once nothing is open and it holds more than this; default 1 MiB. */
  readonly compactAfterBytes?: number;
}

export class FileStagingLog implements StagingLog {
  private readonly open = new Map<string, Uint8Array>();
  private earlier: StagedRecord[];
  private closed = false;
  /** The fdatasync under way: the file descriptor is not closed or swapped (compaction) meanwhile. */
  private flushing: Promise<void> | undefined;
  /** The fdatasync after it, shared by every flush asked meanwhile. */
  private nextFlush: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private fd: number,
    private bytes: number,
    earlier: StagedRecord[],
    private readonly logger: Logger,
    private readonly compactAfterBytes: number,
  ) {
    this.earlier = earlier;
  }

  /** Opens (creating when missing) the log at `path` and reads back what an earlier process left open. */
  static open(path: string, logger: Logger, options: FileStagingLogOptions = {}): FileStagingLog {
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw failure(error, `cannot read the staging log ${path}`);
      content = Buffer.alloc(0);
    }
    const { records, validBytes } = readFrames(content);
    let fd: number;
    try {
      fd = openSync(path, 'a');
      if (validBytes < content.length) {
        logger.warn({ path, dropped: content.length - validBytes }, 'staging log ended in a torn or corrupt frame; cut off');
        ftruncateSync(fd, validBytes);
      }
    } catch (error) {
      throw failure(error, `cannot open the staging log ${path}`);
    }
    return new FileStagingLog(path, fd, validBytes, records, logger, options.compactAfterBytes ?? 1024 * 1024);
  }

  stage(id: string, record: Uint8Array): void {
    if (this.closed) throw new CheopsError(ErrorCode.StorageClosed, 'the staging log is closed');
    this.append(staged, id, record);
    this.open.set(id, Uint8Array.from(record));
  }

  flush(): Promise<void> {
    if (this.nextFlush !== undefined) return this.nextFlush;
    if (this.flushing === undefined) return this.sync();
    const next = this.flushing.catch(() => undefined).then(() => {
      this.nextFlush = undefined;
      return this.sync();
    });
    this.nextFlush = next;
    return next;
  }

  settle(id: string): void {
    if (!this.open.delete(id) || this.closed) return;
    try {
      this.append(settled, id, new Uint8Array(0));
      this.compactIfLarge();
    } catch (error) {
      this.logger.warn({ id, error: errorMessage(error) }, 'staging log record not settled; the next start reads it back');
    }
  }

  leftovers(): readonly StagedRecord[] {
    return this.earlier;
  }

  forgetLeftovers(ids: readonly string[]): void {
    const forgotten = new Set(ids);
    if (!this.earlier.some(({ id }) => forgotten.has(id)) || this.closed) return;
    try {
      for (const { id } of this.earlier) if (forgotten.has(id)) this.append(settled, id, new Uint8Array(0));
      this.earlier = this.earlier.filter(({ id }) => !forgotten.has(id));
      this.compactIfLarge();
    } catch (error) {
      this.logger.warn({ error: errorMessage(error) }, 'staging log leftovers not settled; the next start reads them back');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A flush under way still uses the descriptor: it closes it when done.
    if (this.flushing === undefined) closeSync(this.fd);
  }

  private sync(): Promise<void> {
    if (this.closed) return Promise.reject(new CheopsError(ErrorCode.StorageClosed, 'the staging log is closed'));
    const fd = this.fd;
    const synced = new Promise<void>((resolve, reject) => {
      fdatasync(fd, (error) => {
        this.flushing = undefined;
        if (this.closed) closeSync(fd);
        if (error === null) resolve();
        else reject(failure(error, 'the staging log could not be flushed'));
      });
    });
    this.flushing = synced;
    return synced;
  }

  /** Appends one frame whole; a failure part-way cuts the file back to before it (a torn frame would hide every later one). */
  private append(kind: number, id: string, record: Uint8Array): void {
    const frame = encodeFrame(kind, id, record);
    try {
      let written = 0;
      while (written < frame.length) written += writeSync(this.fd, frame, written);
      this.bytes += frame.length;
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.bytes);
      } catch {
        // The next open cuts the torn frame off.
      }
      throw failure(error, 'the staging log refused a write');
    }
  }

  private compactIfLarge(): void {
    // Not under a flush, which holds the descriptor: the next settle compacts.
    if (this.bytes < this.compactAfterBytes || this.flushing !== undefined) return;
    if (this.open.size === 0 && this.earlier.length === 0) {
      ftruncateSync(this.fd, 0);
      this.bytes = 0;
      return;
    }
    const records = [...this.earlier, ...[...this.open].map(([id, record]) => ({ id, record }))];
    const liveBytes = records.reduce((sum, { id, record }) => sum + frameBytes(id, record), 0);
    if (this.bytes < 2 * liveBytes) return;
    const live = Buffer.concat(records.map(({ id, record }) => encodeFrame(staged, id, record)));
    const temporary = `${this.path}.compacting`;
    const written = openSync(temporary, 'w');
    try {
      let offset = 0;
      while (offset < live.length) offset += writeSync(written, live, offset);
      fdatasyncSync(written);
    } finally {
      closeSync(written);
    }
    renameSync(temporary, this.path);
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.bytes = live.length;
  }
}

/** The size of the frame `encodeFrame` makes. */
function frameBytes(id: string, record: Uint8Array): number {
  return frameHeaderBytes + 1 + 2 + Buffer.byteLength(id, 'utf8') + record.length;
}

function encodeFrame(kind: number, id: string, record: Uint8Array): Buffer {
  const idBytes = Buffer.from(id, 'utf8');
  const bodyLength = 1 + 2 + idBytes.length + record.length;
  const frame = Buffer.allocUnsafe(frameHeaderBytes + bodyLength);
  frame.writeUInt8(kind, frameHeaderBytes);
  frame.writeUInt16BE(idBytes.length, frameHeaderBytes + 1);
  idBytes.copy(frame, frameHeaderBytes + 3);
  frame.set(record, frameHeaderBytes + 3 + idBytes.length);
  frame.writeUInt32BE(bodyLength, 0);
  frame.writeUInt32BE(crc32(frame.subarray(frameHeaderBytes)), 4);
  return frame;
}

/** The records staged and not settled, in staging order, and how many leading bytes are whole frames. */
function readFrames(content: Buffer): { records: StagedRecord[]; validBytes: number } {
  const open = new Map<string, Uint8Array>();
  let offset = 0;
  while (offset + frameHeaderBytes <= content.length) {
    const bodyLength = content.readUInt32BE(offset);
    const end = offset + frameHeaderBytes + bodyLength;
    if (bodyLength < 3 || end > content.length) break;
    const body = content.subarray(offset + frameHeaderBytes, end);
    if (crc32(body) !== content.readUInt32BE(offset + 4)) break;
    const kind = body.readUInt8(0);
    const idLength = body.readUInt16BE(1);
    if (3 + idLength > body.length || (kind !== staged && kind !== settled)) break;
    const id = body.subarray(3, 3 + idLength).toString('utf8');
    if (kind === staged) open.set(id, Uint8Array.from(body.subarray(3 + idLength)));
    else open.delete(id);
    offset = end;
  }
  return { records: [...open].map(([id, record]) => ({ id, record })), validBytes: offset };
}

function failure(error: unknown, context: string): CheopsError {
  return new CheopsError(ErrorCode.StorageFailure, `${context}: ${errorMessage(error)}`, { cause: error });
}
