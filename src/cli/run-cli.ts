// The one error boundary of godwit: parses the command line, runs the command, and turns every
// failure into a message and an exit code. Nothing below this file prints errors or exits.

import { CommanderError } from 'commander';
import { ExitCode, GodwitError, diskFullError, isDiskFull } from '../core/errors.js';
import { processRedactor } from '../core/redact.js';
import { buildProgram } from './build-program.js';
import { COMMANDS } from './registry.js';
import { Terminal, type TerminalStreams } from './terminal.js';

/** The process's streams and environment, passed in so tests can run the CLI in-process too. */
export interface CliEnvironment extends TerminalStreams {
  env: Readonly<Record<string, string | undefined>>;
}

/** Runs godwit with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const terminal = new Terminal(environment);
  const program = buildProgram(
    COMMANDS,
    async (spec, flags) => {
      // The machinery around a command (settings, store, connections, log file) loads only once a
      // command runs, so --help, --version and mistyped command lines stay fast.
      const { runCommand } = await import('./run-command.js');
      await runCommand(spec, flags, { terminal, env: environment.env, argv });
    },
    {
      writeOut: (text) => environment.stdout.write(text),
      writeErr: (text) => environment.stderr.write(text),
    },
  );
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(error, terminal);
  }
}

/** Prints a failure the way a user should see it and picks the exit code. */
function reportFailure(error: unknown, terminal: Terminal): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help text); help and version exit 0.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return ExitCode.usage;
  }
  // A full disk is an operating condition, not a bug, whichever layer met it first.
  if (!(error instanceof GodwitError) && isDiskFull(error)) error = diskFullError(error);
  if (error instanceof GodwitError) {
    terminal.note(processRedactor.redact(`error: ${error.message}`));
    if (error.hint !== undefined) terminal.note(processRedactor.redact(error.hint));
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  terminal.note(processRedactor.redact(`internal error (a bug in godwit, please report it): ${message}`));
  return ExitCode.failure;
}
