// Runs the godwit CLI from the TypeScript sources (vite-node, no build needed) like src/cli/main.ts,
// for archive-cli.test.ts: `vite-node test/archive/cli-child.ts -- <godwit args>`.
import { runCli } from '../../src/cli/run-cli.js';

// vite-node's dev server exits on SIGTERM and on the end of standard input before godwit sees them;
// the built CLI has no such handlers, so take them away to test godwit's own signal handling.
process.removeAllListeners('SIGTERM');
process.stdin.removeAllListeners('end');
process.stdin.pause();

const args = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
const exitCode = await runCli(args, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
process.exit(exitCode);
