/**
 * The start-up warm-up (cli/run-site.ts, crdt/warm-up.ts) as a setting: on by default, off with
 * `--no-warm-up`, and never a reason for a site not to start.
 */
import { describe, expect, it } from 'vitest';
import { warmUp } from '../cli/run-site.js';
import { MemoryLogger } from '../core/logger.js';
import { resolveNodeConfig } from '../node/config.js';
import { runCli } from './support/cheops-process.js';

describe('the warm-up setting', () => {
  it('is on unless turned off', () => {
    expect(resolveNodeConfig({ site: 'Site1', data: '/tmp/x' }).warmUp).toBe(true);
    expect(resolveNodeConfig({ site: 'Site1', data: '/tmp/x', warmUp: false }).warmUp).toBe(false);
  });

  it('is offered by cheops node and cheops up', async () => {
    for (const command of ['node', 'up']) {
      const help = await runCli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--no-warm-up');
    }
  });

  it('logs how long the warm-up took', async () => {
    const logger = new MemoryLogger();
    await warmUp(logger, () => Promise.resolve({ documents: 8, syncMessages: 20, ms: 1234.4 }));
    expect(logger.find('document paths compiled')[0]?.fields).toMatchObject({ ms: 1234 });
  });

  it('lets the site start when the warm-up fails, with a warning saying why', async () => {
    const logger = new MemoryLogger();
    await expect(warmUp(logger, () => Promise.reject(new Error('documents diverged')))).resolves.toBeUndefined();
    const [warning] = logger.find('warm-up failed');
    expect(warning?.level).toBe('warn');
    expect(warning?.fields).toMatchObject({ err: 'documents diverged' });
  });
});
