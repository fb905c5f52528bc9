/**
 * The `cheops` command line. It stays thin: parse flags, build a config, hand it to the
 * composition root, and turn errors into one clear line and a non-zero exit code.
 */
import { Command, Option } from 'commander';
import { isCheopsError, errorMessage } from '../core/index.js';
import { nodeCommand } from './node-command.js';
import { upCommand } from './up-command.js';

const program = new Command('cheops')
  .description(
    'Cheops makes the instances of one cloud application at many edge sites behave like one.\n' +
      'Each site runs a Cheops node beside its application; requests carry a scope that says where they run.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

program.addCommand(nodeCommand());
program.addCommand(upCommand());

program.addOption(new Option('--no-color', 'disable colours').hideHelp());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = isCheopsError(error) ? error.message : errorMessage(error);
  process.stderr.write(`cheops: ${message}\n`);
  process.exitCode = isCheopsError(error) && error.code === 'CHEOPS_CONFIG_INVALID' ? 2 : 1;
}
