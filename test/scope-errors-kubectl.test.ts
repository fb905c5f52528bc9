/**
 * A scope mistake reaches the user through the plain kubectl, the scope carried in the server URL:
 * kubectl sends its discovery through the same `/scope/…/` URL and would hide a refused discovery
 * behind "unknown reason", so the front lets discovery through and refuses the call itself, whose
 * `Status` kubectl prints, column and all.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateSites, NodeProcess } from './support/cheops-process.js';
import { runKubectl } from './support/kubectl-run.js';

describe('scope errors through the plain kubectl', () => {
  let dataRoot: string;
  let node: NodeProcess;

  beforeAll(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'cheops-scope-errors-'));
    const [ports] = await allocateSites(1);
    node = new NodeProcess({
      site: 'Site1', dataDir: join(dataRoot, 'site1'), httpPort: ports!.httpPort, p2pPort: ports!.p2pPort,
      app: 'standin', extraArgs: ['--log-level', 'warn'],
    });
    node.start();
    await node.ready();
  });

  afterAll(async () => {
    await node.stop();
    await rm(dataRoot, { recursive: true, force: true });
  });

  const kubectl = (scope: string, ...args: string[]) =>
    runKubectl(['--server', `${node.url}/scope/${encodeURIComponent(scope)}`, '--request-timeout', '10s', ...args], { KUBECONFIG: '/dev/null' });

  it('a malformed scope: kubectl exits 1 and prints the 400 naming the column', async () => {
    const result = await kubectl('{Site1 &&}', 'run', 'bad', '--image=nginx');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error from server (BadRequest)');
    expect(result.stderr).toContain('column 8');
  });

  it('an unknown site: kubectl prints the 400 listing the known sites', async () => {
    const result = await kubectl('{Site1 & Site9}', 'run', 'bad', '--image=nginx');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown site 'Site9' at column \d+; known sites: Site1/);
  });

  it('nothing was created by the refused calls', async () => {
    const result = await runKubectl(['--server', node.url, 'get', 'pod', 'bad'], { KUBECONFIG: '/dev/null' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pods "bad" not found');
  });
});
