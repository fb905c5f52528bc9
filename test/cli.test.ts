/** The `cheops` command line as users meet it: help that names every flag, one clear line per mistake. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cheops-process.js';

describe('cheops CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cheops-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--help lists the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: cheops/);
    expect(result.stdout).toMatch(/\bnode\b/);
  });

  it('node --help describes every flag of the contract', async () => {
    const result = await runCli(['node', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--site', '--data', '--http', '--p2p', '--peer', '--app', '--config', '--log-level']) {
      expect(result.stdout).toContain(flag);
    }
  });

  const oneLineFailures: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['node', '--site', 'Site1', '--bogus'], /unknown option '--bogus'/],
    ['a missing --site', ['node', '--data', 'DATA'], /missing --site/],
    ['a bad site name', ['node', '--site', '1bad', '--data', 'DATA'], /invalid --site "1bad"/],
    ['a bad --http', ['node', '--site', 'Site1', '--data', 'DATA', '--http', 'nope'], /invalid --http "nope": expected HOST:PORT/],
    ['a bad --p2p', ['node', '--site', 'Site1', '--data', 'DATA', '--p2p', '127.0.0.1:9001'], /invalid --p2p/],
    ['a bad --peer', ['node', '--site', 'Site1', '--data', 'DATA', '--peer', 'tcp://x'], /invalid --peer "tcp:\/\/x"/],
    ['a bad --app', ['node', '--site', 'Site1', '--data', 'DATA', '--app', 'ftp://x'], /invalid --app "ftp:\/\/x"/],
    ['a bad --log-level', ['node', '--site', 'Site1', '--data', 'DATA', '--log-level', 'loud'], /--log-level/],
  ];
  for (const [what, args, message] of oneLineFailures) {
    it(`${what} exits non-zero with one line naming it`, async () => {
      const result = await runCli(args.map((arg) => (arg === 'DATA' ? join(dir, 'data') : arg)));
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }

  it('a config file with an unknown key or a bad value is refused in one line naming the key', async () => {
    const unknownKey = join(dir, 'unknown.yaml');
    await writeFile(unknownKey, 'site: Site1\ndata: /tmp/x\nhttpPort: 7001\n');
    const unknown = await runCli(['node', '--config', unknownKey]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toMatch(/unknown key 'httpPort'/);

    const badValue = join(dir, 'bad.yaml');
    await writeFile(badValue, 'site: Site1\ndata: /tmp/x\nheartbeatIntervalMs: -5\n');
    const bad = await runCli(['node', '--config', badValue]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/invalid heartbeatIntervalMs -5/);
  });

  it('a port already in use is reported in one line', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const config = join(dir, 'ok.yaml');
      await writeFile(config, `site: Site1\ndata: ${join(dir, 'busy')}\nhttp: 127.0.0.1:${port}\np2p: /ip4/127.0.0.1/tcp/0\nlogLevel: silent\n`);
      const result = await runCli(['node', '--config', config]);
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`cannot listen on --http 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      busy.close();
    }
  });
});
