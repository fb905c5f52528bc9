/**
 * Starts the local application a config names: nothing to start for a URL or for none; for
 * `standin`, the embedded stand-in Kubernetes API on a free loopback port, its state in
 * `<data>/standin` so that it survives a restart of the node as a real cluster's state would.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/index.js';
import { systemClock, systemRandom } from '../core/system.js';
import { LevelStorage } from '../crdt/level-storage.js';
import type { NodeConfig } from '../node/config.js';
import { serveStandin } from '../simulator/standin/index.js';
import type { RunningApplication } from './run-site.js';

export async function startLocalApplication(config: NodeConfig, logger: Logger): Promise<RunningApplication> {
  switch (config.app.kind) {
    case 'none':
      logger.warn('no --app given: requests for the application will be answered 503');
      return { url: undefined, kind: 'none', stop: () => Promise.resolve() };
    case 'url':
      return { url: config.app.url, kind: 'http', stop: () => Promise.resolve() };
    case 'standin': {
      const location = join(config.dataDir, 'standin');
      await mkdir(location, { recursive: true });
      const storage = await LevelStorage.open({ location });
      try {
        const served = await serveStandin({
          site: config.site,
          clock: systemClock,
          random: systemRandom,
          logger: logger.child({ component: 'standin' }),
          storage,
        });
        logger.info({ url: served.url }, 'stand-in Kubernetes API started');
        return {
          url: served.url,
          kind: 'kubernetes',
          stop: async () => {
            await served.close();
            await storage.close();
          },
        };
      } catch (error) {
        await storage.close();
        throw error;
      }
    }
  }
}
