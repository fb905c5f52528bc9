/** End to end: the real kubectl against the stand-in alone, over HTTP (the suite is kubectl-suite.ts). */
import { silentLogger } from '../../core/logger.js';
import { systemClock, systemRandom } from '../../core/system.js';
import { serveStandin } from '../../simulator/standin/index.js';
import { describeKubectlSuite } from './kubectl-suite.js';

describeKubectlSuite('kubectl against the stand-in', async () => {
  const served = await serveStandin({ site: 'Site1', clock: systemClock, random: systemRandom, logger: silentLogger });
  return { url: served.url, close: () => served.close() };
});
