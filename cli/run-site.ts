/**
 * Runs one site in this process until SIGINT or SIGTERM, with the real clock, randomness and
 * logger, and the local application the config names (a URL, the embedded stand-in, or none).
 */
import { createLogger, systemClock, systemRandom } from '../core/system.js';
import type { Logger } from '../core/index.js';
import type { NodeConfig } from '../node/config.js';
import { startSite, type LocalApplication, type Site } from '../node/site.js';
import { startLocalApplication } from './local-application.js';

export async function runSiteUntilSignal(config: NodeConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const app = await startLocalApplication(config, logger);
  let site: Site;
  try {
    site = await startSite(config, app, { clock: systemClock, random: systemRandom, logger });
  } catch (error) {
    await app.stop();
    throw error;
  }
  await untilSignal(logger);
  await site.stop();
  await app.stop();
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
export function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export type RunningApplication = LocalApplication & { stop(): Promise<void> };

