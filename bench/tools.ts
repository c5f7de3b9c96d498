// Helpers for the benchmarks: run a command and time it, sample its peak memory, find tools.
import { spawn } from 'node:child_process';
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

/** Runs a program to completion, sampling its resident memory every 100 ms. */
export function timed(command: string, args: string[], env: NodeJS.ProcessEnv, options: { shell?: boolean } = {}): Promise<Timed> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'], shell: options.shell ?? false });
    let stderr = '';
    let peak = 0;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const sampler = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, rssKb(child.pid));
    }, 100);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ seconds, peakRssMb: peak / 1024, code, stderr });
    });
  });
}

/** The first existing path among candidates, or undefined. */
export function findTool(candidates: string[]): string | undefined {
  return candidates.find((path) => existsSync(path));
}

/** Fails the benchmark with the command's error output. */
export function mustSucceed(what: string, result: Timed): Timed {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
  return result;
}
