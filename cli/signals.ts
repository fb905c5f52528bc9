/** Waiting for the user's Ctrl-C (or a supervisor's SIGTERM), without loading anything else. */
import type { Logger } from '../core/logger.js';

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
