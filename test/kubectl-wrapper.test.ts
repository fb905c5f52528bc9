/**
 * `cheops kubectl`: how it rewrites kubectl's arguments and finds the front in a kubeconfig
 * (units), then the real CLI running the real kubectl through a real site's front.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractScope, findFlag, kubectlFlags, scopedServerUrl, withRawScope, withServer } from '../cli/kubectl-args.js';
import { planKubectl } from '../cli/kubectl-command.js';
import { kubeconfigPaths, mergeKubeconfigs, serverFromKubeconfig } from '../cli/kubeconfig-server.js';
import { renderKubeconfig } from '../cli/kubeconfig.js';
import { allocateSites, NodeProcess, runCheops, spawnCheops, waitFor } from './support/cheops-process.js';
import { runKubectl } from './support/kubectl-run.js';
import { childPids, isRunning } from './support/processes.js';
import { kubectlBinary } from './standin/kubectl-harness.js';

const scoped = (args: string[]): { scope: string | undefined; args: readonly string[] } => {
  const result = extractScope(args);
  if (!result.ok) throw new Error(result.error);
  return result.value;
};

describe('cheops kubectl: the scope flag', () => {
  it.each([
    ['--scope EXPR', ['run', 'p', '--scope', '{Site1 & Site2}', '--image=nginx'], '{Site1 & Site2}'],
    ['--scope=EXPR', ['run', 'p', '--scope={Site1&Site2}', '--image=nginx'], '{Site1&Site2}'],
    ['--scope{…}', ['run', 'p', '--scope{Site1&Site2}', '--image=nginx'], '{Site1&Site2}'],
    ['-scope{…}', ['run', 'p', '-scope{Site1&Site2}', '--image=nginx'], '{Site1&Site2}'],
    ['-scope EXPR', ['run', 'p', '-scope', '{Site1}', '--image=nginx'], '{Site1}'],
    ['-scope=EXPR', ['run', 'p', '-scope={Site1}', '--image=nginx'], '{Site1}'],
    ['a quoted glued form with spaces', ['run', 'p', '--scope{pods: Site1, secrets: Site2}', '--image=nginx'], '{pods: Site1, secrets: Site2}'],
    ['a glued form the shell split', ['run', 'p', '-scope{pods:', 'Site1,', 'secrets:', 'Site2}', '--image=nginx'], '{pods: Site1, secrets: Site2}'],
    ['a separate value the shell split', ['run', 'p', '--scope', '{Site1', '&', 'Site2}', '--image=nginx'], '{Site1 & Site2}'],
  ])('takes %s out, leaving the rest in order', (_form, args, scope) => {
    expect(scoped(args)).toEqual({ scope, args: ['run', 'p', '--image=nginx'] });
  });

  it('is found first, last or in the middle', () => {
    expect(scoped(['--scope{A}', 'get', 'pods']).args).toEqual(['get', 'pods']);
    expect(scoped(['get', 'pods', '--scope{A}']).args).toEqual(['get', 'pods']);
    expect(scoped(['get', '--scope', '{A}', 'pods']).args).toEqual(['get', 'pods']);
  });

  it('leaves everything after -- alone, including a --scope meant for the container', () => {
    const args = ['run', 'p', '--image=busybox', '--', 'sh', '-c', 'echo --scope {X}', '--scope{Y}'];
    expect(scoped(args)).toEqual({ scope: undefined, args });
    expect(scoped(['exec', '--scope{A}', 'p', '--', '--scope', '{B}'])).toEqual({ scope: '{A}', args: ['exec', 'p', '--', '--scope', '{B}'] });
  });

  it('does not take flags that only start like it', () => {
    expect(scoped(['get', '--scopes', 'x', '--scope-all']).scope).toBeUndefined();
  });

  it.each([
    [['get', '--scope']], [['get', '--scope', '--', 'x']], [['get', '--scope=']], [['get', '--scope{A}', '--scope{B}']],
  ])('refuses %j with a message', (args) => {
    const result = extractScope(args);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/--scope needs a scope|two different scopes/);
  });

  it('accepts the same scope twice', () => {
    expect(scoped(['--scope{A}', 'get', '--scope', '{A}'])).toEqual({ scope: '{A}', args: ['get'] });
  });
});

describe('cheops kubectl: the server', () => {
  it.each([
    [['--server', 'http://a', 'get'], ['--server', 'http://S', 'get']],
    [['--server=http://a', 'get'], ['--server=http://S', 'get']],
    [['-s', 'http://a', 'get'], ['-s', 'http://S', 'get']],
    [['-shttp://a', 'get'], ['-shttp://S', 'get']],
    [['-s=http://a', 'get'], ['-s=http://S', 'get']],
    [['get', '-s', 'http://a', '--server=http://b'], ['get', '-s', 'http://S', '--server=http://S']],
  ])('replaces the server of %j in place', (args, expected) => {
    expect(withServer(args, 'http://S')).toEqual(expected);
  });

  it('adds --server before the first -- or at the end, and reads no flag after --', () => {
    expect(withServer(['get', 'pods'], 'http://S')).toEqual(['get', 'pods', '--server=http://S']);
    expect(withServer(['exec', 'p', '--', 'curl', '-s', 'x'], 'http://S')).toEqual(['exec', 'p', '--server=http://S', '--', 'curl', '-s', 'x']);
    expect(findFlag(['exec', 'p', '--', '--context', 'x'], kubectlFlags.context)).toEqual([]);
  });

  it('percent-encodes the scope into a /scope/ prefix, keeping a proxy path and replacing an older scope', () => {
    const value = (front: string, scope: string): string => {
      const result = scopedServerUrl(front, scope);
      if (!result.ok) throw new Error(result.error);
      return result.value;
    };
    expect(value('http://127.0.0.1:7001', '{Site1 & Site2}')).toBe('http://127.0.0.1:7001/scope/%7BSite1%20%26%20Site2%7D');
    expect(value('http://127.0.0.1:7001/', ' {A % B || C} ')).toBe('http://127.0.0.1:7001/scope/%7BA%20%25%20B%20%7C%7C%20C%7D');
    expect(value('https://proxy.example/k8s/site1/', '{pods: A, secrets: B}')).toBe('https://proxy.example/k8s/site1/scope/%7Bpods%3A%20A%2C%20secrets%3A%20B%7D');
    expect(value('http://h:1/scope/%7BOld%7D', '{New}')).toBe('http://h:1/scope/%7BNew%7D');
    expect(scopedServerUrl('not a url', '{A}').ok).toBe(false);
    expect(scopedServerUrl('ftp://h', '{A}').ok).toBe(false);
  });

  it('puts the scope in a --raw path, which kubectl sends without the server URL path', () => {
    expect(withRawScope(['get', '--raw', '/api/v1/pods'], '{A}')).toEqual(['get', '--raw', '/scope/%7BA%7D/api/v1/pods']);
    expect(withRawScope(['get', '--raw=/apis'], '{A}')).toEqual(['get', '--raw=/scope/%7BA%7D/apis']);
  });
});

describe('cheops kubectl: the kubeconfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cheops-kubeconfig-'));
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await writeFile(join(dir, 'home', '.kube', 'config'), renderKubeconfig([{ name: 'Home', server: 'http://home:1' }]));
    await writeFile(join(dir, 'a'), renderKubeconfig([{ name: 'Site1', server: 'http://a1:1' }, { name: 'Site2', server: 'http://a2:1' }]));
    // b defines Site1 again (a's wins, being first) and Site3, and sets its own current context (a's wins).
    await writeFile(join(dir, 'b'), renderKubeconfig([{ name: 'Site3', server: 'http://b3:1' }, { name: 'Site1', server: 'http://b1:1' }]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const plan = async (args: string[], env: { KUBECONFIG?: string }): Promise<readonly string[]> => {
    const result = await planKubectl(args, { HOME: join(dir, 'home'), ...env });
    if (!result.ok) throw new Error(result.error);
    return result.value.args;
  };
  const scope = '/scope/%7BSite1%7D';

  it('reads --kubeconfig, else $KUBECONFIG (missing files skipped), else ~/.kube/config', async () => {
    expect(kubeconfigPaths({ explicit: '/x', env: '/y', home: '/h' })).toEqual({ paths: ['/x'], required: true });
    expect(kubeconfigPaths({ env: '/y::/z', home: '/h' })).toEqual({ paths: ['/y', '/z'], required: false });
    expect(kubeconfigPaths({ env: '', home: '/h' })).toEqual({ paths: ['/h/.kube/config'], required: false });
    expect(await plan(['get', 'pods', '--scope{Site1}'], {})).toEqual(['get', 'pods', `--server=http://home:1${scope}`]);
    expect(await plan(['get', '--scope{Site1}', '--kubeconfig', join(dir, 'b')], { KUBECONFIG: join(dir, 'a') })).toEqual([
      'get', '--kubeconfig', join(dir, 'b'), `--server=http://b3:1${scope}`,
    ]);
  });

  it('merges $KUBECONFIG as kubectl does: the first file to define a name or a current context wins', async () => {
    const env = { KUBECONFIG: [join(dir, 'missing'), join(dir, 'b'), join(dir, 'a')].join(':') };
    expect(await plan(['get', '--scope{Site1}'], env)).toEqual(['get', `--server=http://b3:1${scope}`]);
    expect(await plan(['get', '--context', 'Site1', '--scope{Site1}'], env)).toEqual(['get', '--context', 'Site1', `--server=http://b1:1${scope}`]);
    expect(await plan(['get', '--context=Site2', '--scope{Site1}'], env)).toEqual(['get', '--context=Site2', `--server=http://a2:1${scope}`]);
    expect(await plan(['get', '--cluster', 'Site2', '--context', 'Site1', '--scope{Site1}'], env)).toContain(`--server=http://a2:1${scope}`);
  });

  it('takes --server over any context, and leaves arguments alone without a scope', async () => {
    expect(await plan(['--context', 'Site2', '-s', 'http://x:9', 'get', '--scope{Site1}'], { KUBECONFIG: join(dir, 'a') })).toEqual([
      '--context', 'Site2', '-s', `http://x:9${scope}`, 'get',
    ]);
    const args = ['get', 'pods', '--context', 'Nowhere'];
    expect(await plan(args, { KUBECONFIG: join(dir, 'missing') })).toEqual(args);
  });

  it('says why it cannot find a front', async () => {
    const error = async (args: string[], env: { KUBECONFIG?: string }): Promise<string> => {
      const result = await planKubectl(args, { HOME: join(dir, 'nohome'), ...env });
      return result.ok ? '' : result.error;
    };
    expect(await error(['get', '--scope{A}'], {})).toMatch(/no --server given and no kubeconfig found/);
    expect(await error(['get', '--scope{A}', '--context', 'Nope'], { KUBECONFIG: join(dir, 'a') })).toMatch(/context "Nope" is not in/);
    expect(await error(['get', '--scope{A}', '--kubeconfig', join(dir, 'missing')], {})).toMatch(/cannot read the kubeconfig/);
    const merged = mergeKubeconfigs([{ clusters: [{ name: 'c', cluster: {} }], contexts: [{ name: 'x', context: { cluster: 'c' } }] }]);
    expect(serverFromKubeconfig(merged, {}, ['f'])).toEqual({ ok: false, error: expect.stringMatching(/no current context/) as string });
    expect(serverFromKubeconfig(merged, { context: 'x' }, ['f'])).toEqual({ ok: false, error: 'cluster "c" has no server in f' });
  });

  it('refuses a malformed scope before anything else, naming the column', async () => {
    const result = await planKubectl(['run', 'p', '--scope', '{Site1 &}'], { HOME: join(dir, 'nohome') });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^invalid scope "\{Site1 &\}" in --scope: .*column 9/) as string });
  });
});

describe('cheops kubectl with the real kubectl through a real site', () => {
  let dir: string;
  let node: NodeProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cheops-kubectl-'));
    const [ports] = await allocateSites(1);
    node = new NodeProcess({ site: 'Site1', dataDir: join(dir, 'site1'), httpPort: ports!.httpPort, p2pPort: ports!.p2pPort, app: 'standin' });
    node.start();
    await writeFile(join(dir, 'kubeconfig'), renderKubeconfig([{ name: 'Site1', server: node.url }]));
    env = { HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), CHEOPS_KUBECTL: kubectlBinary, KUBECTL_INTERACTIVE_DELETE: 'false' };
    await node.ready();
  });

  afterAll(async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const cheops = (args: string[], input?: string) =>
    runCheops(['kubectl', ...args], { env, timeoutMs: 30_000, ...(input === undefined ? {} : { input }) });

  /** The front's `scoped request` log lines (JSON, info level) that carried `scope`. */
  const scopedRequests = (scope: string): Array<{ method: string; url: string }> =>
    node.log
      .split('\n')
      .filter((line) => line.includes('"msg":"scoped request"'))
      .map((line) => JSON.parse(line) as { method: string; url: string; scope: string })
      .filter((entry) => entry.scope === scope);

  it('runs kubectl unchanged without a scope', async () => {
    const result = await cheops(['--server', node.url, 'get', 'ns']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active/);
  });

  it('carries a scope to the front on every call, from the current context', async () => {
    const result = await cheops(['run', 'purple', '--image=nginx', '--scope', '{Site1}']);
    expect(result).toMatchObject({ code: 0, stdout: 'pod/purple created\n' });
    await waitFor(() => scopedRequests('{Site1}').some((entry) => entry.method === 'POST'), 5_000, () => node.log);
    expect(scopedRequests('{Site1}')).toContainEqual(expect.objectContaining({ method: 'POST', url: expect.stringMatching(/^\/api\/v1\/namespaces\/default\/pods/) as string }));
    expect((await cheops(['get', 'pod', 'purple', '-o', 'name'])).stdout).toBe('pod/purple\n');
  });

  it('accepts the glued form with --context, and a --raw path carries the scope too', async () => {
    const glued = await cheops(['--context', 'Site1', 'create', 'configmap', 'glued', '--from-literal=a=b', '-scope{ Site1 }']);
    expect(glued).toMatchObject({ code: 0, stdout: 'configmap/glued created\n' });
    expect(scopedRequests('{ Site1 }').map((entry) => entry.method)).toContain('POST');
    const raw = await cheops(['get', '--raw', '/api/v1/namespaces/default/configmaps/glued', '--scope={Site1 }']);
    expect(raw.code).toBe(0);
    expect(scopedRequests('{Site1 }')).toContainEqual(expect.objectContaining({ url: '/api/v1/namespaces/default/configmaps/glued' }));
  });

  it('refuses a malformed scope itself; the front answers one 400 naming the column', async () => {
    const local = await cheops(['run', 'bad', '--image=nginx', '--scope', '{Site1 &}']);
    expect(local.code).toBe(1);
    expect(local.stderr).toBe(`cheops kubectl: invalid scope "{Site1 &}" in --scope: scope syntax error at column 9: expected one of '(', site name, got '}'\n`);
    // kubectl itself, scope in the path: kubectl shows a Status only outside discovery, so --raw.
    const front = await runKubectl(['--server', node.url, 'get', '--raw', '/scope/%7BSite1%20%26%7D/api/v1/pods'], env);
    expect(front.code).toBe(1);
    expect(front.stderr).toContain('Error from server (BadRequest): invalid scope "{Site1 &}" in the /scope/ path prefix: scope syntax error at column 9');
  });

  it("passes kubectl's exit code and NotFound message through", async () => {
    const missing = await cheops(['get', 'pod', 'missing', '--scope', '{Site1}']);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'Error from server (NotFound): pods "missing" not found\n' });
  });

  it('passes stdin (-f -) and everything after -- through unchanged', async () => {
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: piped}\ndata: {k: v}\n';
    expect(await cheops(['apply', '-f', '-', '--scope{Site1}'], manifest)).toMatchObject({ code: 0, stdout: 'configmap/piped created\n' });
    const run = await cheops(['run', 'echo', '--image=busybox', '--restart=Never', '--scope{Site1}', '--', 'sh', '-c', 'echo --scope {X}', '-s']);
    expect(run).toMatchObject({ code: 0, stdout: 'pod/echo created\n' });
    const args = await cheops(['get', 'pod', 'echo', '-o', 'jsonpath={.spec.containers[0].args}']);
    expect(JSON.parse(args.stdout)).toEqual(['sh', '-c', 'echo --scope {X}', '-s']);
  });

  it('passes Ctrl-C on to a watching kubectl and ends with it', async () => {
    const child = spawnCheops(['kubectl', 'get', 'pods', '-w', '--scope{Site1}'], env);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => output.includes('purple'), 15_000, () => `no watch output:\n${output}`);
    const kubectl = await childPids(child.pid!);
    expect(kubectl).toHaveLength(1);
    child.kill('SIGINT');
    // kubectl ends a watch on SIGINT with exit code 1, or dies of it when the signal comes before
    // its watch handles it (a moment after the first lines): cheops kubectl ends the same way,
    // exit code or signal, leaving nothing behind.
    expect([{ code: 1, signal: null }, { code: null, signal: 'SIGINT' }]).toContainEqual(await exited);
    expect(await isRunning(kubectl[0]!)).toBe(false);
  });

  it('hands kubectl exactly its arguments, and ends as kubectl ended, by a signal too', async () => {
    const fake = join(dir, 'fake-kubectl.sh');
    await writeFile(fake, '#!/bin/sh\nprintf "%s\\n" "$@"\n[ "$1" = die ] && kill -TERM $$\nexit 3\n', { mode: 0o755 });
    const fakeEnv = { ...env, CHEOPS_KUBECTL: fake };
    const echoed = await runCheops(['kubectl', '--', 'exec', 'p', '-scope{Site1}', '--scope', '{A}'], { env: fakeEnv });
    expect(echoed).toMatchObject({ code: 3, stdout: '--\nexec\np\n-scope{Site1}\n--scope\n{A}\n' });
    const scopedArgs = await runCheops(['kubectl', 'get', '--scope{Site1}', 'pods', '--', 'x'], { env: fakeEnv });
    expect(scopedArgs.stdout).toBe(`get\npods\n--server=${node.url}/scope/%7BSite1%7D\n--\nx\n`);
    const killed = await runCheops(['kubectl', 'die'], { env: fakeEnv });
    expect(killed).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('explains itself, and reaches kubectl for kubectl help', async () => {
    const help = await runCheops(['kubectl', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--scope{Site1&Site2}');
    const kubectlHelp = await cheops(['--', '--help']);
    expect(kubectlHelp.stdout).toContain('kubectl controls the Kubernetes cluster manager');
    const missing = await runCheops(['kubectl', 'version'], { env: { CHEOPS_KUBECTL: join(dir, 'no-kubectl') } });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-kubectl not found/);
  });
});
