/**
 * The `cheops` command line. It stays thin: parse flags, build a config, hand it to the
 * composition root, and turn errors into one clear line and a non-zero exit code.
 */
import { Command, Option } from 'commander';
import { isCheopsError, errorMessage } from '../core/index.js';
import { kubectlCommand, runKubectlCli, wantsWrapperHelp } from './kubectl-command.js';

/** The program without its commands: name, description, version, error output. */
function baseProgram(): Command {
  return new Command('cheops')
    .description(
      'Cheops makes the instances of one cloud application at many edge sites behave like one.\n' +
        'Each site runs a Cheops node beside its application; requests carry a scope that says where they run.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    // Options after a command name belong to that command: `cheops kubectl` hands all of its own to kubectl.
    .enablePositionalOptions()
    .addOption(new Option('--no-color', 'disable colours').hideHelp());
}

/** The network controls of a running `cheops up`: partition, heal, link, links (HTTP only). */
async function controlCommands(): Promise<Command[]> {
  return (await import('./control-commands.js')).controlCommands();
}

/**
 * Every command. Their modules are light: what is heavy (libp2p, Automerge and level, about a
 * second on a small machine; the simulator) is imported by the actions that run it (node-command,
 * sim-command), so `--help` and a mistyped flag answer in ~0.3 s. `cheops kubectl` and the network
 * controls do not even load these.
 */
async function allCommands(): Promise<Command[]> {
  const [{ nodeCommand }, { upCommand }, { simCommand }] = await Promise.all([
    import('./node-command.js'),
    import('./up-command.js'),
    import('./sim-command.js'),
  ]);
  return [nodeCommand(), upCommand(), kubectlCommand(), simCommand(), ...(await controlCommands())];
}

const controlCommandNames: ReadonlySet<string> = new Set(['partition', 'heal', 'link', 'links']);

async function main(argv: readonly string[]): Promise<void> {
  const args = argv.slice(2);
  // `cheops kubectl` runs before every kubectl call a user makes: it starts without the rest.
  if (args[0] === 'kubectl' && !wantsWrapperHelp(args.slice(1))) {
    process.exitCode = await runKubectlCli(args.slice(1));
    return;
  }
  const program = baseProgram();
  const commands = controlCommandNames.has(args[0] ?? '') ? await controlCommands() : await allCommands();
  for (const command of commands) program.addCommand(command);
  await program.parseAsync(argv);
}

try {
  await main(process.argv);
} catch (error) {
  const message = isCheopsError(error) ? error.message : errorMessage(error);
  process.stderr.write(`cheops: ${message}\n`);
  process.exitCode = isCheopsError(error) && error.code === 'CHEOPS_CONFIG_INVALID' ? 2 : 1;
}
