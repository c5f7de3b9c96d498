// Helpers for the benchmarks: run a command and time it, sample its peak memory, find tools.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Result of one timed command. */
export interface Timed {
  seconds: number;
  peakRssMb: number;
  code: number | null;
  stderr: string;
}

function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A started program whose memory is sampled until it exits. */
export interface Started {
  child: ChildProcess;
  /** Standard output so far (kept only with `captureStdout`; the last ~100 kB). */
  stdout(): string;
  done: Promise<Timed>;
}

/** Starts a program, sampling its resident memory every 100 ms; `done` resolves when it exits. */
export function startTimed(command: string, args: string[], env: NodeJS.ProcessEnv, options: { shell?: boolean; captureStdout?: boolean } = {}): Started {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { env, stdio: ['ignore', options.captureStdout === true ? 'pipe' : 'ignore', 'pipe'], shell: options.shell ?? false });
  let stderr = '';
  let stdout = '';
  let peak = 0;
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.length > 200_000) stdout = stdout.slice(-100_000);
  });
  const sampler = setInterval(() => {
    if (child.pid !== undefined) peak = Math.max(peak, rssKb(child.pid));
  }, 100);
  const done = new Promise<Timed>((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(sampler);
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ seconds, peakRssMb: peak / 1024, code, stderr });
    });
  });
  return { child, stdout: () => stdout, done };
}

/** Runs a program to completion, sampling its resident memory every 100 ms. */
export function timed(command: string, args: string[], env: NodeJS.ProcessEnv, options: { shell?: boolean } = {}): Promise<Timed> {
  return startTimed(command, args, env, options).done;
}

/** The first existing path among candidates, or undefined. */
export function findTool(candidates: string[]): string | undefined {
  return candidates.find((path) => existsSync(path));
}

/** pgbench from the newest PostgreSQL client installed (Debian's postgresql-client packages). */
export function findPgbench(): string | undefined {
  return findTool(['/usr/lib/postgresql/17/bin/pgbench', '/usr/lib/postgresql/16/bin/pgbench', '/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench']);
}

/** Fails the benchmark with the command's error output. */
export function mustSucceed(what: string, result: Timed): Timed {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
  return result;
}
