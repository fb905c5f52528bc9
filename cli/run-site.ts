/**
 * Runs one site in this process until SIGINT or SIGTERM, with the real clock, randomness and
 * logger, and the local application the config names (a URL, the embedded stand-in, or none).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, systemClock, systemRandom } from '../core/system.js';
import { errorMessage, type Logger } from '../core/index.js';
import { FileStagingLog } from '../crdt/file-staging-log.js';
import { LevelStorage } from '../crdt/level-storage.js';
import { warmUpDocuments } from '../crdt/warm-up.js';
import { createLibp2pTransport } from '../p2p/libp2p-transport.js';
import { storageKeyStore } from '../p2p/peer-identity.js';
import type { NodeConfig } from '../node/config.js';
import { startSite, type LocalApplication, type Site } from '../node/site.js';
import { startLocalApplication } from './local-application.js';
import { untilSignal } from './signals.js';

export async function runSiteUntilSignal(config: NodeConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const stack: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stack.reverse()) await stop();
  };
  let site: Site;
  try {
    if (config.warmUp) await warmUp(logger);
    const app = await startLocalApplication(config, logger);
    stack.push(() => app.stop());
    await mkdir(config.dataDir, { recursive: true });
    const storage = await LevelStorage.open({ location: join(config.dataDir, 'store') });
    stack.push(() => storage.close());
    // Opened once the store is: its lock keeps a second process off the same data directory.
    const stagingLog = FileStagingLog.open(join(config.dataDir, 'staging.log'), logger);
    stack.push(() => Promise.resolve(stagingLog.close()));
    // The peer key lives in the site's store, so the peer id survives restarts on the same --data.
    const transport = await createLibp2pTransport(
      { listen: [config.p2p], ...(config.announce.length === 0 ? {} : { announce: config.announce }), keyStore: storageKeyStore(storage) },
      { logger: logger.child({ site: config.site }), clock: systemClock },
    );
    await transport.start();
    stack.push(() => transport.stop());
    logger.info({ site: config.site, peerId: transport.peerId, addresses: transport.addresses() }, 'peer-to-peer mesh listening');
    site = await startSite(config, app, { clock: systemClock, random: systemRandom, logger, storage, stagingLog, transport });
    stack.push(() => site.stop());
    await site.listen();
  } catch (error) {
    await stopAll();
    throw error;
  }
  await untilSignal(logger);
  await stopAll();
}

/**
 * Compiles the document paths before anything listens: the compilation would otherwise land on
 * the first requests and the first heal (crdt/warm-up.ts). Only a speed-up: a failure is logged
 * and the site starts all the same.
 */
export async function warmUp(logger: Logger, warm: typeof warmUpDocuments = warmUpDocuments): Promise<void> {
  try {
    const warmed = await warm({ clock: systemClock, random: systemRandom });
    logger.info({ ms: Math.round(warmed.ms) }, 'document paths compiled');
  } catch (error) {
    logger.warn({ err: errorMessage(error) }, 'warm-up failed; the first documents compile their paths instead');
  }
}

export type RunningApplication = LocalApplication & { stop(): Promise<void> };

