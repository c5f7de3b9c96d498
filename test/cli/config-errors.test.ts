// Every configuration error, as the user sees it from the CLI: message, hint, exit code.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGodwit } from '../helpers/run-godwit.js';

const dir = mkdtempSync(join(tmpdir(), 'godwit-cli-config-'));
function config(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const exportDir = join(dir, 'export');
const validSource = `source:\n  db-user: app\n  db-name: appdb\n`;

describe('configuration errors from the CLI', () => {
  it('names an unknown key with its file, line and a suggestion', async () => {
    const path = config('typo.yaml', `export-dir: ${exportDir}\nsource:\n  db-user: app\n  db-hots: h\n`);
    const r = await runGodwit(['export', 'schema', '--config-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: config file ${path}, line 4: unknown key "db-hots" in section "source". Did you mean "db-host"?`);
    expect(r.stderr).toContain('Allowed keys in section "source": db-host, db-port, db-user, db-password, db-name, db-schema, ssl-mode, ssl-root-cert, ssl-cert, ssl-key.');
  });

  it('names an unknown top-level key and an unknown command section', async () => {
    const top = config('top.yaml', `expor-dir: ${exportDir}\n`);
    const r1 = await runGodwit(['export', 'schema', '--config-file', top]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`error: config file ${top}, line 1: unknown key "expor-dir". Did you mean "export-dir"?`);

    const section = config('section.yaml', `${validSource}export-data-from-source:\n  parallel-job: 4\n`);
    const r2 = await runGodwit(['export', 'schema', '--config-file', section]);
    expect(r2.stderr).toContain(`error: config file ${section}, line 5: unknown key "parallel-job" in section "export-data-from-source". Did you mean "parallel-jobs"?`);
  });

  it('names a value of the wrong type with its line', async () => {
    const path = config('type.yaml', `export-dir: ${exportDir}\nsource:\n  db-port: five\n`);
    const r = await runGodwit(['export', 'schema', '--config-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: config file ${path}, line 3: "db-port" in section "source" must be an integer between 1 and 65535, got "five".`);

    const mode = config('mode.yaml', `source:\n  ssl-mode: verify\n`);
    const r2 = await runGodwit(['export', 'schema', '--config-file', mode]);
    expect(r2.stderr).toContain(`line 2: "ssl-mode" in section "source" must be one of disable, allow, prefer, require, verify-ca, verify-full, got "verify".`);
  });

  it('never echoes a password value in a type error', async () => {
    const path = config('secret.yaml', `source:\n  db-password: [hunter2]\n`);
    const r = await runGodwit(['export', 'schema', '--config-file', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"db-password" in section "source" must be a non-empty string, got (hidden).');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('rejects a bad flag value', async () => {
    const r = await runGodwit(['export', 'data', 'from', 'source', '--export-dir', exportDir, '--source-db-user', 'a', '--source-db-name', 'b', '--export-type', 'everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --export-type must be one of snapshot-only, snapshot-and-changes, got "everything".');
  });

  it('names a missing required setting and how to give it', async () => {
    const r = await runGodwit(['export', 'schema', '--export-dir', exportDir, '--source-db-user', 'app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: missing required setting "source-db-name" (the source database).');
    expect(r.stderr).toContain('Give --source-db-name NAME, or put db-name in the source: section of the config file.');

    const r2 = await runGodwit(['export', 'schema', '--source-db-user', 'app', '--source-db-name', 'x']);
    expect(r2.stderr).toContain('error: missing required setting "export-dir" (the export directory).');

    const r3 = await runGodwit(['archive', 'changes', '--export-dir', exportDir]);
    expect(r3.stderr).toContain('error: missing required setting "policy" (needed by archive changes).');
  });

  it('says when the config file does not exist, is a directory, or is not YAML', async () => {
    const missing = join(dir, 'nope.yaml');
    const r = await runGodwit(['cutover', 'status', '--config-file', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: config file ${missing} does not exist.`);
    expect(r.stderr).toContain('Check the --config-file path.');

    const r2 = await runGodwit(['cutover', 'status', '--config-file', dir]);
    expect(r2.stderr).toContain(`error: config file ${dir} is a directory, not a file.`);

    const bad = config('bad.yaml', 'source:\n  db-host: [unclosed\n');
    const r3 = await runGodwit(['cutover', 'status', '--config-file', bad]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(new RegExp(`error: config file ${bad.replaceAll('/', '\\/')}, line \\d: invalid YAML: `));

    const dup = config('dup.yaml', 'source:\n  db-host: a\n  db-host: b\n');
    const r4 = await runGodwit(['cutover', 'status', '--config-file', dup]);
    expect(r4.stderr).toContain('invalid YAML: Map keys must be unique');
  });

  it('passes validation and then refuses an export directory that does not exist, without creating it', async () => {
    const path = config('ok.yaml', `export-dir: ${join(dir, 'never-created')}\n${validSource}target:\n  db-user: app\n  db-name: appdb\n`);
    const r = await runGodwit(['compare-performance', '--config-file', path]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`error: The export directory ${join(dir, 'never-created')} does not exist.`);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'never-created'))).toBe(false);
  });
});

describe('command tree', () => {
  it('lists every workflow command in the help', async () => {
    const r = await runGodwit(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['assess-migration', 'export', 'analyze-schema', 'import', 'initiate', 'cutover', 'get', 'archive', 'end', 'finalize-schema-post-data-import', 'compare-performance', 'demo', 'version']) {
      expect(r.stdout).toContain(word);
    }
  });

  it('accepts the exact command words and shows their flags', async () => {
    for (const words of [
      ['export', 'data', 'from', 'source'],
      ['import', 'data', 'to', 'target'],
      ['initiate', 'cutover', 'to', 'target'],
      ['initiate', 'cutover', 'to', 'source'],
      ['export', 'data', 'from', 'target'],
      ['import', 'data', 'to', 'source'],
      ['cutover', 'status'],
      ['end', 'migration'],
      ['get', 'data-migration-report'],
      ['archive', 'changes'],
    ]) {
      const r = await runGodwit([...words, '--help']);
      expect(r.code, words.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: godwit ${words.join(' ')} [options]`);
      expect(r.stdout).toContain('--config-file <FILE>');
    }
    const help = await runGodwit(['export', 'data', 'from', 'source', '--help']);
    help.stdout = help.stdout.replace(/\s+/g, ' ');
    expect(help.stdout).toContain('--source-db-password <PASSWORD>');
    expect(help.stdout).toContain('source database: password (better: environment variable SOURCE_DB_PASSWORD; a flag stays in the shell history)');
    expect(help.stdout).toContain('--export-type <TYPE>');
    expect(help.stdout).toContain('--start-clean [true|false]');
    expect(help.stdout).not.toContain('--target-db-host');
  });

  it('suggests the right word for a typo and exits 2', async () => {
    const r = await runGodwit(['export', 'dat', 'from', 'source']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'dat'");
    expect(r.stderr).toContain('(Did you mean data?)');
    const r2 = await runGodwit(['cutover', 'status', '--export-dri', 'x']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("error: unknown option '--export-dri'");
  });

  it('prints the version', async () => {
    const r = await runGodwit(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^godwit \d+\.\d+\.\d+ \(Node\.js 20\./);
  });
});
