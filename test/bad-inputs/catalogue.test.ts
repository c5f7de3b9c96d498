// The bad-input catalogue (issue 7): every wrong input we could think of, run as a user would, each
// with the exact message godwit gives and its exit code. docs/bad-inputs.md lists the same cases with
// their messages (and the cases proven by other tests); this test checks that the two agree.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, runSql, servers } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
const base = mkdtempSync(join(tmpdir(), 'godwit-bad-'));
const DOC = fileURLToPath(new URL('../../docs/bad-inputs.md', import.meta.url));
let sourceDb = '';
let targetDb = '';
let schemaDir = '';
const LIMITED_USER = `godwit_limited_${process.pid}`;

beforeAll(async () => {
  sourceDb = await createDatabase(source, 'bad_src');
  targetDb = await createDatabase(target, 'bad_dst');
  await runSql(source, sourceDb, 'CREATE TABLE items (id int PRIMARY KEY, name text); CREATE TABLE nokey (v text);');
  // A target user who may log in and create tables in public, but not create godwit's schema.
  await runSql(target, targetDb, `CREATE ROLE ${LIMITED_USER} LOGIN PASSWORD 'limited-pw'; GRANT CONNECT ON DATABASE ${targetDb} TO ${LIMITED_USER}; GRANT USAGE, CREATE ON SCHEMA public TO ${LIMITED_USER};`);
  // An export directory with the schema exported (for the cases that need one).
  schemaDir = join(base, 'with-schema');
  const exported = await runGodwit(['export', 'schema', '--export-dir', schemaDir, ...src()], { env });
  if (exported.code !== 0) throw new Error(exported.stderr);
}, 60_000);

afterAll(async () => {
  await dropDatabase(source, sourceDb);
  await dropDatabase(target, targetDb);
  await runSql(target, 'postgres', `DROP ROLE IF EXISTS ${LIMITED_USER}`);
});

function src(overrides: Record<string, string> = {}): string[] {
  const values = { host: source.host, port: String(source.port), user: source.user, name: sourceDb, 'ssl-mode': 'disable', ...overrides };
  return Object.entries(values).flatMap(([key, value]) => [key === 'ssl-mode' ? '--source-ssl-mode' : `--source-db-${key}`, value]);
}

function dst(overrides: Record<string, string> = {}): string[] {
  const values = { host: target.host, port: String(target.port), user: target.user, name: targetDb, 'ssl-mode': 'disable', ...overrides };
  return Object.entries(values).flatMap(([key, value]) => [key === 'ssl-mode' ? '--target-ssl-mode' : `--target-db-${key}`, value]);
}

let n = 0;
/** A fresh export directory path (not created). */
function freshDir(): string {
  return join(base, `dir-${++n}`);
}

function configFile(text: string): string {
  const path = join(base, `config-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

interface Case {
  /** The title in docs/bad-inputs.md. */
  title: string;
  args: () => string[];
  env?: Record<string, string | undefined>;
  code: number;
  /** Exact text the output must contain (standard error, or standard output for plans). */
  message: string;
}

const CASES: Case[] = [
  { title: 'mistyped command word', args: () => ['export', 'dat', 'from', 'source'], code: 2, message: 'error: unknown command \'dat\'\n(Did you mean data?)' },
  { title: 'unknown flag', args: () => ['cutover', 'status', '--export-dri', 'x'], code: 2, message: 'error: unknown option \'--export-dri\'\n(Did you mean --export-dir?)' },
  { title: 'config file missing', args: () => ['export', 'schema', '--config-file', join(base, 'nope.yaml')], code: 2, message: 'nope.yaml does not exist.\nCheck the --config-file path.' },
  { title: 'config file not YAML', args: () => ['export', 'schema', '--config-file', configFile('export-dir: [unclosed\n')], code: 2, message: 'line 2: invalid YAML:' },
  { title: 'config key misspelt', args: () => ['export', 'schema', '--config-file', configFile(`export-dir: ${freshDir()}\nsource:\n  db-hots: x\n`)], code: 2, message: 'line 3: unknown key "db-hots" in section "source". Did you mean "db-host"?' },
  { title: 'config value of the wrong type', args: () => ['export', 'data', 'from', 'source', '--config-file', configFile(`export-dir: ${freshDir()}\nexport-data-from-source:\n  parallel-jobs: many\n`), ...src()], code: 2, message: 'line 3: "parallel-jobs" in section "export-data-from-source" must be an integer between 1 and 256, got "many".' },
  { title: 'unknown config section', args: () => ['export', 'schema', '--config-file', configFile(`export-dir: ${freshDir()}\nexport-data:\n  parallel-jobs: 2\n`)], code: 2, message: 'line 2: unknown key "export-data". Did you mean "export-dir"?' },
  { title: 'required setting missing', args: () => ['export', 'schema', '--export-dir', freshDir(), '--source-db-host', source.host], code: 2, message: 'error: missing required setting "source-db-user" (the source database).\nGive --source-db-user USER, or put db-user in the source: section of the config file.' },
  { title: 'export dir missing', args: () => ['export', 'schema', ...src()], code: 2, message: 'error: missing required setting "export-dir" (the export directory).' },
  { title: 'value not among the choices', args: () => ['export', 'data', 'from', 'source', '--export-dir', freshDir(), ...src(), '--export-type', 'everything'], code: 2, message: 'error: --export-type must be one of snapshot-only, snapshot-and-changes, got "everything".' },
  { title: 'number out of range', args: () => ['export', 'data', 'from', 'source', '--export-dir', freshDir(), ...src(), '--parallel-jobs', '0'], code: 2, message: 'error: --parallel-jobs must be an integer between 1 and 256, got "0".' },
  { title: 'not a number', args: () => ['import', 'data', 'to', 'target', '--export-dir', freshDir(), ...dst(), '--batch-size', '10k'], code: 2, message: 'error: --batch-size must be an integer between 1 and 10000000, got "10k".' },
  { title: 'unknown log level', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src(), '--log-level', 'loud'], code: 2, message: 'error: --log-level must be one of error, warn, info, debug, trace, got "loud".' },
  { title: 'unknown TLS mode', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src({ 'ssl-mode': 'always' })], code: 2, message: 'error: --source-ssl-mode must be one of disable, allow, prefer, require, verify-ca, verify-full, got "always".' },
  { title: 'bad boolean', args: () => ['initiate', 'cutover', 'to', 'target', '--export-dir', freshDir(), '--prepare-for-fall-back', 'maybe'], code: 2, message: 'error: --prepare-for-fall-back must be true or false, got "maybe".' },
  { title: 'malformed table list', args: () => ['export', 'data', 'from', 'source', '--export-dir', schemaDir, ...src(), '--table-list', 'items,"unclosed'], code: 2, message: 'unterminated quoted name at position 16' },
  { title: 'export dir is a file', args: () => ['export', 'schema', '--export-dir', DOC, ...src()], code: 5, message: 'is a file, not a directory.\nChoose an empty directory (or a new path) for --export-dir.' },
  {
    title: 'export dir holds other files',
    args: () => {
      const dir = freshDir();
      mkdirSync(dir);
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      return ['export', 'schema', '--export-dir', dir, ...src()];
    },
    code: 5,
    message: 'is not empty and is not a godwit export directory.',
  },
  { title: 'wrong password', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src()], env: { SOURCE_DB_PASSWORD: 'not-the-password' }, code: 3, message: 'error: Password authentication failed for user "postgres" on the source database at 127.0.0.1:' },
  { title: 'no password', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src()], env: { SOURCE_DB_PASSWORD: undefined, HOME: base }, code: 3, message: 'asks for a password for user "postgres", and none was given.\nGive it in SOURCE_DB_PASSWORD (or with --source-db-password), or run godwit on a terminal to be asked for it.' },
  { title: 'unknown host', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src({ host: 'no-such-host.invalid' })], code: 3, message: 'error: The source database host "no-such-host.invalid" is unknown: the name does not resolve.' },
  { title: 'nothing listening on the port', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src({ port: '1' })], code: 3, message: 'error: Could not connect to the source database at 127.0.0.1:1: connection refused (4 attempts).' },
  { title: 'database missing', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src({ name: 'no_such_database' })], code: 3, message: 'has no database "no_such_database".\nCheck --source-db-name' },
  { title: 'user missing', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src({ user: 'no_such_user' })], code: 3, message: 'error: Password authentication failed for user "no_such_user"' },
  { title: 'TLS required by a server without it', args: () => ['import', 'schema', '--export-dir', schemaDir, ...dst({ 'ssl-mode': 'require' })], code: 3, message: 'does not accept TLS connections, and --target-ssl-mode require requires TLS.' },
  { title: 'schema list names a missing schema', args: () => ['export', 'schema', '--export-dir', freshDir(), ...src(), '--source-db-schema', 'public,nowhere'], code: 7, message: 'error: schema nowhere does not exist in the source database' },
  { title: 'table list names a missing table', args: () => ['export', 'data', 'from', 'source', '--export-dir', schemaDir, ...src(), '--table-list', 'items,ghosts'], code: 2, message: 'error: --table-list: table ghosts matches no table of the source catalog (schemas public).' },
  { title: 'import schema before export schema', args: () => ['import', 'schema', '--export-dir', freshDir(), ...dst()], code: 5, message: '(no .sql files).\nRun `godwit export schema` first.' },
  { title: 'export data before export schema', args: () => ['export', 'data', 'from', 'source', '--export-dir', freshDir(), ...src()], code: 5, message: 'holds no source catalog.\nRun `godwit export schema` first' },
  { title: 'table without replica identity for a live export', args: () => ['export', 'data', 'from', 'source', '--export-dir', schemaDir, ...src(), '--export-type', 'snapshot-and-changes'], code: 7, message: 'BLOCKER TABLE_WITHOUT_REPLICA_IDENTITY table "public"."nokey"' },
  {
    title: 'target user may not create godwit\'s schema',
    args: () => ['import', 'schema', '--export-dir', schemaDir, ...dst({ user: LIMITED_USER })],
    env: { TARGET_DB_PASSWORD: 'limited-pw' },
    code: 7,
    message: 'may not create or use godwit\'s bookkeeping schema godwit_metadata in database',
  },
  { title: 'cutover without a live export', args: () => ['initiate', 'cutover', 'to', 'target', '--export-dir', schemaDir], code: 5, message: 'error: There is no live migration to cut over: this export directory holds no snapshot-and-changes export.' },
  { title: 'cutover to source before cutover to target', args: () => ['initiate', 'cutover', 'to', 'source', '--export-dir', schemaDir], code: 5, message: 'error: Cutover to source needs a completed cutover to target (cutover to target is NOT INITIATED).' },
  { title: 'fall-back stream before cutover', args: () => ['export', 'data', 'from', 'target', '--export-dir', schemaDir, ...dst()], code: 5, message: 'error: export data from target: there is no fall-back stream yet: cutover to target is NOT INITIATED' },
  { title: 'status of a directory that is no migration', args: () => ['cutover', 'status', '--export-dir', freshDir()], code: 5, message: 'does not exist.\nCheck --export-dir' },
  { title: 'end migration with a backup but no backup directory', args: () => ['end', 'migration', '--export-dir', schemaDir, ...src(), ...dst(), '--backup-schema-files', 'true', '--backup-data-files', 'false', '--save-migration-reports', 'false', '--backup-log-files', 'false', '--yes'], code: 2, message: 'but no --backup-dir was given.' },
  { title: 'end migration without confirmation', args: () => ['end', 'migration', '--export-dir', schemaDir, ...src(), ...dst(), '--backup-schema-files', 'false', '--backup-data-files', 'false', '--save-migration-reports', 'false', '--backup-log-files', 'false'], code: 2, message: 'End the migration as above? This cannot be undone. Standard input is not a terminal, so godwit cannot ask.\nRun the command again with --yes to confirm.' },
  { title: 'archive without an archive directory', args: () => ['archive', 'changes', '--export-dir', schemaDir, '--policy', 'archive'], code: 2, message: 'error: --policy archive needs --archive-dir DIR: where to move the applied change segments.' },
  { title: 'start-clean without confirmation', args: () => ['export', 'schema', '--export-dir', schemaDir, ...src(), '--start-clean', 'true'], code: 2, message: 'Continue? Standard input is not a terminal, so godwit cannot ask.\nRun the command again with --yes to confirm.' },
];

describe('bad-input catalogue', () => {
  const doc = readFileSync(DOC, 'utf8');
  for (const c of CASES) {
    it(c.title, async () => {
      const result = await runGodwit(c.args(), { env: { ...env, ...c.env } });
      const output = `${result.stderr}${result.stdout}`;
      expect(result.code, output).toBe(c.code);
      expect(output).toContain(c.message);
      expect(output).not.toMatch(/internal error|\n\s+at .*\.js:\d+/);
      expect(doc, `docs/bad-inputs.md lists "${c.title}" with its message`).toContain(`| ${c.title} |`);
    });
  }
});
