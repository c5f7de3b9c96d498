// The godwit entry point: runs the CLI and is the only place that ends the process.
import { runCli } from './run-cli.js';

// No top-level await: the bundle is a CommonJS script (scripts/bundle.mjs says why).
void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
}).then((exitCode) => process.exit(exitCode));
