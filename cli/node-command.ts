import { Command, Option } from 'commander';
import { configDefaults, readConfigFile, resolveNodeConfig, type NodeConfigInput } from '../node/config.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `cheops node`: run one site. */
export function nodeCommand(): Command {
  return new Command('node')
    .description('run the Cheops node of one site: HTTP front, peer-to-peer mesh and document store')
    .option('--site <name>', 'name of this site, as written in scopes (Site1)')
    .option('--data <dir>', 'directory of the site\'s store; the peer id and documents survive restarts')
    .option('--http <host:port>', `where the HTTP front listens (default ${configDefaults.http})`)
    .option('--advertise-http <url>', 'URL other sites and users reach this front at (default http://<--http>)')
    .option('--p2p <multiaddr>', `libp2p listen address (default ${configDefaults.p2p})`)
    .option('--peer <multiaddr>', 'a peer to dial and stay connected to; repeatable; /p2p/<id> may be omitted', collect)
    .option('--announce <multiaddr>', 'the address other sites dial instead of --p2p (a public address, a relay); repeatable', collect)
    .option('--app <url|standin>', "the local application: its base URL, or 'standin' for the embedded Kubernetes API")
    .option('--config <file>', 'YAML or JSON file with the same settings (flags win over the file)')
    .option('--no-warm-up', 'start listening at once, without first compiling the document paths (2–3 s of one core) and with V8\'s baseline compiler on; the first documents are then handled more slowly')
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']),
    )
    .addHelpText(
      'after',
      '\nExample:\n  cheops node --site Site1 --data .cheops/site1 --http 127.0.0.1:7001 \\\n' +
        '    --p2p /ip4/127.0.0.1/tcp/9001 --peer /ip4/127.0.0.1/tcp/9002 --app standin\n',
    )
    .action(async (options: Record<string, unknown>) => {
      const fromFile = typeof options.config === 'string' ? await readConfigFile(options.config) : {};
      const fromFlags: NodeConfigInput = {};
      for (const key of ['site', 'data', 'http', 'advertiseHttp', 'p2p', 'peer', 'announce', 'app', 'logLevel'] as const) {
        const value = options[key];
        if (value !== undefined) (fromFlags as Record<string, unknown>)[key] = value;
      }
      if (options.warmUp === false) fromFlags.warmUp = false;
      const config = resolveNodeConfig({ ...fromFile, ...fromFlags });
      // Loaded here, not with the command: `--help` and a bad flag answer without libp2p and Automerge.
      const { runSiteUntilSignal } = await import('./run-site.js');
      await runSiteUntilSignal(config);
    });
}
