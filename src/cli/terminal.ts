// The user's terminal: where results and messages go, and the only place godwit asks questions.
// It never waits on standard input when that is not a terminal.

import { UsageError } from '../core/errors.js';

/** Streams the terminal works with (process streams in production, pipes in tests). */
export interface TerminalStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
}

/** Output and prompts for one command run. */
export class Terminal {
  constructor(private readonly streams: TerminalStreams) {}

  /** True when a person can answer a prompt (standard input is a terminal). */
  get interactive(): boolean {
    return this.streams.stdin.isTTY === true;
  }

  /** True when standard output is a terminal (progress bars instead of log lines). */
  get fancyOutput(): boolean {
    return this.streams.stdout.isTTY === true;
  }

  /** A line of the command's result, on standard output. */
  print(line: string): void {
    this.streams.stdout.write(`${line}\n`);
  }

  /** A message about the run (warnings, errors, notices), on standard error. */
  note(line: string): void {
    this.streams.stderr.write(`${line}\n`);
  }

  /**
   * Asks before something destructive. `--yes` answers for the user; without a terminal and without
   * `--yes` it fails with a message saying to add `--yes`.
   */
  async confirm(question: string, yes: boolean): Promise<boolean> {
    if (yes) return true;
    if (!this.interactive) {
      throw new UsageError(`${question} Standard input is not a terminal, so godwit cannot ask.`, {
        hint: 'Run the command again with --yes to confirm.',
      });
    }
    const answer = await this.readLine(`${question} [y/N] `, false);
    return /^y(es)?$/i.test(answer.trim());
  }

  /** Reads a password without echoing it; only called when `interactive` is true. */
  async promptSecret(question: string): Promise<string> {
    if (!this.interactive) throw new UsageError(`${question} Standard input is not a terminal, so godwit cannot ask.`);
    return this.readLine(question, true);
  }

  private readLine(question: string, hidden: boolean): Promise<string> {
    const { stdin, stderr } = this.streams;
    return new Promise((resolve, reject) => {
      let answer = '';
      const raw = hidden && typeof stdin.setRawMode === 'function';
      // Echo goes off before the prompt shows, so even a password typed ahead is never echoed.
      if (raw) stdin.setRawMode?.(true);
      stderr.write(question);
      const finish = (error?: Error): void => {
        stdin.removeListener('data', onData);
        stdin.removeListener('end', onEnd);
        if (raw) stdin.setRawMode?.(false);
        stdin.pause();
        stderr.write('\n');
        if (error) reject(error);
        else resolve(answer);
      };
      const onEnd = (): void => finish();
      const onData = (chunk: Buffer | string): void => {
        for (const char of chunk.toString()) {
          if (char === '\u0003') return finish(new UsageError('interrupted at the prompt.'));
          if (char === '\r' || char === '\n' || char === '\u0004') return finish();
          if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
          else answer += char;
        }
      };
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.resume();
    });
  }
}
