#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/bundle/godwit.cjs, one CommonJS file bundled from
// dist/ (built by `npm ci` through the prepare script; scripts/bundle.mjs says why one file).
//
// It is compiled through node:vm with V8's code cache: parsing and compiling the 1.3 MB bundle, and
// then each function a command calls, is a good part of every command's start, and a live
// migration's exporter and importer restart together, when nothing else moves. Node 20 has no
// compile cache of its own (module.enableCompileCache came in Node 22).
// - dist/bundle/godwit.v8-cache, written at build time by `godwit --help`, holds the CLI's start.
// - dist/bundle/godwit.<command words>.v8-cache holds what one command ran: written when that command
//   first ends well (exit code 0), so a restarted exporter or importer finds every function it needs.
// V8 checks a cache against the source and its own version: one it rejects is written again.
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
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

/** The command's words (`export data from source`): the arguments before the first option. */
function commandWords(args) {
  const words = [];
  for (const arg of args) {
    if (!/^[a-z][a-z0-9-]*$/.test(arg) || words.length === 5) break;
    words.push(arg);
  }
  return words;
}

function readCache(url) {
  try {
    return readFileSync(url);
  } catch {
    return undefined;
  }
}

// V8 accepts a cache only under the flags it was made with. The SQL parser turns --liftoff-only on
// when it loads (src/schema/parse/parse-sql.ts says why); set here for every command, the commands
// that parse SQL write a cache that their next run accepts.
setFlagsFromString('--liftoff-only');

const words = commandWords(process.argv.slice(2));
const buildCache = new URL('../dist/bundle/godwit.v8-cache', import.meta.url);
const ownCache = words.length === 0 ? buildCache : new URL(`../dist/bundle/godwit.${words.join('-')}.v8-cache`, import.meta.url);
let cachedData = readCache(ownCache);
const hadOwn = cachedData !== undefined;
cachedData ??= readCache(buildCache);
// The bundle is pure ASCII (scripts/bundle.mjs): read as Latin-1, which Node 20 does 7 times faster
// than UTF-8 for its 1.3 MB (a copy not built that way is read as UTF-8).
const bundleBytes = readFileSync(bundle);
const bundleText = isAscii(bundleBytes) ? bundleBytes.toString('latin1') : bundleBytes.toString('utf8');
// The CommonJS wrapper on a line of its own, so the bundle's line numbers stay as they are.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${bundleText}\n})`, {
  filename: bundle,
  lineOffset: -1,
  cachedData,
});
if (!hadOwn || script.cachedDataRejected === true) {
  process.once('exit', (code) => {
    // Only a command that ended well: a mistyped one leaves no file behind.
    if (code !== 0) return;
    const temporary = `${fileURLToPath(ownCache)}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, script.createCachedData());
      renameSync(temporary, ownCache);
    } catch {
      // A read-only installation runs without it.
    }
  });
}
const main = { exports: {} };
script.runInThisContext()(main.exports, createRequire(bundle), main, bundle, dirname(bundle));
