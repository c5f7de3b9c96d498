#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/bundle/godwit.cjs, one CommonJS file bundled from
// dist/ (built by `npm ci` through the prepare script; scripts/bundle.mjs says why one file).
//
// It is compiled through node:vm with V8's code cache (dist/bundle/godwit.v8-cache): parsing and
// compiling the 1.3 MB bundle is a good part of every command's start, and a live migration's
// exporter and importer restart together, when nothing else moves. Node 20 has no compile cache of
// its own (module.enableCompileCache came in Node 22). The cache is written at the exit of a command
// that found none, or found one this Node rejects (another V8 version); V8 checks it against the
// source, so a stale cache is never used.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

// node-postgres decides at load time whether it runs in a Cloudflare Worker; without a `navigator`
// global (Node 20 has none, Node 21+ does) it builds a fetch Response to find out, which loads Node's
// fetch implementation: about 20 ms of CPU in every command. Node 21's own `navigator` answers it.
if (globalThis.navigator === undefined) {
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
}

// Code from V8's cache loses its import() callback in Node 20 (src/core/import-external.ts): the
// bundle's few import() calls, of packages outside it, go through this module's.
Object.defineProperty(globalThis, '__godwitImport', { value: (specifier) => import(specifier) });

const bundle = fileURLToPath(new URL('../dist/bundle/godwit.cjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('godwit is not built: run `npm ci` (or `npm run build`) in the godwit folder first.\n');
  process.exit(2);
}
const cacheFile = new URL('../dist/bundle/godwit.v8-cache', import.meta.url);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
// The CommonJS wrapper on a line of its own, so the bundle's line numbers stay as they are.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  lineOffset: -1,
  cachedData,
});
if (cachedData === undefined || script.cachedDataRejected === true) {
  process.once('exit', () => {
    const temporary = `${fileURLToPath(cacheFile)}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, cacheFile);
    } catch {
      // A read-only installation runs without the cache.
    }
  });
}
const main = { exports: {} };
script.runInThisContext()(main.exports, createRequire(bundle), main, bundle, dirname(bundle));
