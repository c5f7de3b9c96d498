#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/bundle/godwit.js, one file bundled from dist/ (built by
// `npm ci` through the prepare script; see scripts/bundle.mjs for why one file).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// node-postgres decides at load time whether it runs in a Cloudflare Worker; without a `navigator`
// global (Node 20 has none, Node 21+ does) it builds a fetch Response to find out, which loads Node's
// fetch implementation: about 20 ms of CPU in every command. Node 21's own `navigator` answers it.
if (globalThis.navigator === undefined) {
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
}

const entry = new URL('../dist/bundle/godwit.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('godwit is not built: run `npm ci` (or `npm run build`) in the godwit folder first.\n');
  process.exit(2);
}
await import(entry.href);
