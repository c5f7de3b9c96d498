// Runs the built godwit CLI as a user would (a child process, standard input not a terminal).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const GODWIT_BIN = fileURLToPath(new URL('../../bin/godwit.js', import.meta.url));

export interface GodwitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `godwit ...args` to completion; env replaces the inherited password variables. */
export function runGodwit(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<GodwitResult> {
  const env: Record<string, string | undefined> = { ...process.env, SOURCE_DB_PASSWORD: undefined, TARGET_DB_PASSWORD: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GODWIT_BIN, ...args], {
      cwd: options.cwd,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
