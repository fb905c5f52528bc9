/**
 * The `cheops` command line. It stays thin: parse flags, build a config, hand it to the
 * composition root, and turn errors into one clear line and a non-zero exit code.
 */
import { Command, Option } from 'commander';
import { isCheopsError, errorMessage } from '../core/index.js';
import { kubectlCommand, runKubectlCli, wantsWrapperHelp } from './kubectl-command.js';

/**
 * The whole command line. `node` and `up` load libp2p, Automerge and level (about a second on a
 * small machine), so they are imported only when a command other than `cheops kubectl` runs.
 */
async function buildProgram(): Promise<Command> {
  const [{ nodeCommand }, { upCommand }] = await Promise.all([import('./node-command.js'), import('./up-command.js')]);
  const program = new Command('cheops')
    .description(
      'Cheops makes the instances of one cloud application at many edge sites behave like one.\n' +
        'Each site runs a Cheops node beside its application; requests carry a scope that says where they run.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    // Options after a command name belong to that command: `cheops kubectl` hands all of its own to kubectl.
    .enablePositionalOptions();

  program.addCommand(nodeCommand());
  program.addCommand(upCommand());
  program.addCommand(kubectlCommand());
  program.addCommand((await import('./sim-command.js')).simCommand());
  // The network of a running `cheops up`: partition, heal, link, links.
  for (const command of (await import('./control-commands.js')).controlCommands()) program.addCommand(command);

  program.addOption(new Option('--no-color', 'disable colours').hideHelp());
  return program;
}

async function main(argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  // `cheops kubectl` runs before every kubectl call a user makes: it starts without the rest.
  if (args[0] === 'kubectl' && !wantsWrapperHelp(args.slice(1))) {
    process.exitCode = await runKubectlCli(args.slice(1));
    return;
  }
  const program = await buildProgram();
  await program.parseAsync(argv);
}

try {
  await main(process.argv);
} catch (error) {
  const message = isCheopsError(error) ? error.message : errorMessage(error);
  process.stderr.write(`cheops: ${message}\n`);
  process.exitCode = isCheopsError(error) && error.code === 'CHEOPS_CONFIG_INVALID' ? 2 : 1;
}
