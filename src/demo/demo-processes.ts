// How the demo runs godwit: every step is the real CLI in its own process, exactly as a user types
// it (with the demo's config file), its output shown indented or, for the long-running exporter and
// importer, line by line behind a label.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GodwitError } from '../core/errors.js';

/** The godwit launcher of this installation. */
const GODWIT_BIN = fileURLToPath(new URL('../../bin/godwit.js', import.meta.url));

/** Where the demo's output goes. */
export type Print = (line: string) => void;

/** A godwit command running in the background. */
export interface BackgroundCommand {
  readonly label: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

function relayLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (pending !== '') onLine(pending);
  });
}

function spawnGodwit(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [GODWIT_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `godwit ...args` to its end, showing its output indented; returns its standard output; throws when it fails. */
export async function runGodwitStep(args: readonly string[], env: NodeJS.ProcessEnv, print: Print): Promise<string> {
  const child = spawnGodwit(args, env);
  let stdout = '';
  relayLines(child.stdout, (line) => {
    stdout += `${line}\n`;
    print(`    ${line}`);
  });
  relayLines(child.stderr, (line) => print(`    ${line}`));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new GodwitError(`\`godwit ${args.join(' ')}\` failed (exit code ${code}).`, { hint: 'Its output is above; the logs are in the export directory.' });
  return stdout;
}

/** Runs `godwit ...args` quietly and returns its standard output (for status polling); throws when it fails. */
export async function queryGodwit(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawnGodwit(args, env);
  let stdout = '';
  let stderr = '';
  relayLines(child.stdout, (line) => (stdout += `${line}\n`));
  relayLines(child.stderr, (line) => (stderr += `${line}\n`));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new GodwitError(`\`godwit ${args.join(' ')}\` failed (exit code ${code}): ${stderr.trim()}`);
  return stdout;
}

/** Starts `godwit ...args` in the background, each output line shown behind `[label]`. */
export function startGodwitCommand(label: string, args: readonly string[], env: NodeJS.ProcessEnv, print: Print): BackgroundCommand {
  const child = spawnGodwit(args, env);
  relayLines(child.stdout, (line) => print(`  [${label}] ${line}`));
  relayLines(child.stderr, (line) => print(`  [${label}] ${line}`));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { label, child, exited };
}
