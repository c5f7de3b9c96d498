// Runs the built godwit CLI as a user would (a child process, standard input not a terminal).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const GODWIT_BIN = fileURLToPath(new URL('../../bin/godwit.js', import.meta.url));

export interface GodwitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running godwit child that a test may kill. */
export interface RunningGodwit {
  child: ChildProcess;
  done: Promise<GodwitResult>;
  /** Everything it printed so far: standard output then standard error (on a terminal, both as shown). */
  output(): string;
}

/** Starts `godwit ...args` without waiting for it; env replaces the inherited password variables. */
export function startGodwit(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): RunningGodwit {
  const env = childEnvironment(options.env);
  const child = spawn(process.execPath, [GODWIT_BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { stdout, stderr, done } = collectOutput(child);
  return { child, done, output: () => stdout() + stderr() };
}

/** The inherited environment without the password variables, then `overrides` (undefined removes). */
function childEnvironment(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, SOURCE_DB_PASSWORD: undefined, TARGET_DB_PASSWORD: undefined, ...overrides };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env as NodeJS.ProcessEnv;
}

/** Gathers a child's standard output and error as they come; `done` resolves with both at its end. */
function collectOutput(child: ChildProcess): { stdout: () => string; stderr: () => string; done: Promise<GodwitResult> } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<GodwitResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs `godwit ...args` to completion (SIGKILLed after timeoutMs); env replaces the inherited password variables. */
export function runGodwit(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<GodwitResult> {
  const running = startGodwit(args, options);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return running.done.finally(() => clearTimeout(timer));
}

/** What the forward commands print when, after a cutover with fall-back, their process continues as a fall-back command. */
export const HAND_OVER_LINE = 'this process continues as `godwit ';

/**
 * Stops a forward command once its process has handed over to the fall-back command it becomes (it
 * would stream until stopped): SIGTERM after the hand-over line, which it handles (exit 0).
 */
export function stopAfterHandOver(running: RunningGodwit): void {
  let seen = '';
  running.child.stdout?.on('data', (chunk: Buffer) => {
    const before = seen.includes(HAND_OVER_LINE);
    seen += chunk.toString();
    if (!before && seen.includes(HAND_OVER_LINE)) setTimeout(() => running.child.kill('SIGTERM'), 500);
  });
}

/** A godwit child on a pseudo-terminal: what it printed so far, keys typed into it, its own pid. */
export interface GodwitOnTerminal extends RunningGodwit {
  /** Types `keys` once the terminal shows something matching `prompt`. */
  answer(prompt: RegExp, keys: string, timeoutMs?: number): Promise<void>;
  /** The godwit process itself (a child of `script`), once it runs. */
  godwitPid(): number | undefined;
}

/**
 * Starts `godwit ...args` on a pseudo-terminal (util-linux `script`, Linux only), as a user at a
 * terminal runs it: password prompts are asked there and answered with answer(). `child` is script;
 * Ctrl-C ('\x03') typed into it reaches godwit as SIGINT.
 */
export function startGodwitOnTerminal(args: string[], options: { env?: Record<string, string | undefined> } = {}): GodwitOnTerminal {
  const env = childEnvironment({ PGPASSWORD: undefined, ...options.env });
  const quoted = [process.execPath, GODWIT_BIN, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  // `exec`: script runs the command through $SHELL, or /bin/sh where it is unset (as in CI), and dash
  // keeps itself as godwit's parent: Ctrl-C would stop the shell too (exit 130) and the pid below
  // would be the shell's.
  const child = spawn('script', ['-qefc', `exec ${quoted}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const { stdout: output, done } = collectOutput(child);
  const answer = async (prompt: RegExp, keys: string, timeoutMs = 60_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!prompt.test(output())) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${String(prompt)} on the terminal; it showed: ${output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.stdin?.write(keys);
  };
  const godwitPid = (): number | undefined => {
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length === 0 ? undefined : Number(children[0]);
    } catch {
      return undefined;
    }
  };
  return { child, done, output, answer, godwitPid };
}
