// `import data to target` of a live migration, through the CLI against the harness servers (PostgreSQL
// 15 source, 17 target). The live export is simulated with the libraries: the snapshot files recorded
// under a 'replication-slot' run (fake-export), change events written with the queue writer. The
// import loads the snapshot, builds the keys, applies the events and keeps following the queue: events
// appended while it runs arrive; SIGTERM stops it with exit 0; SIGKILLs at random moments and a rerun
// end with exactly the expected rows; the metrics table and the report's per-table counts show.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLEEP_BEFORE_COMMIT_ENV } from '../../src/apply/apply-transaction.js';
import { UNCHANGED, type ChangeInput, type ColumnValue } from '../../src/core/change-event.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { getQueueStreamHead } from '../../src/state/queue-store.js';
import { createDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';
import { del, ins, upd, writeTransactions } from '../apply/apply-helpers.js';
import { fakeExport } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
const TABLE = { schema: 'live', name: 'items' };
const KEY = ['id'];
const COLUMNS = ['id', 'name', 'big', 'n'];
const SNAPSHOT_ROWS = 300;

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A big value that stays TOASTed (random-ish, not compressible to inline size). */
function bigValue(id: number, version: number): string {
  let text = '';
  for (let i = 0; text.length < 4000; i++) text += createHash('sha256').update(`${id}/${version}/${i}`).digest('hex');
  return text;
}

interface Row {
  id: number;
  name: string;
  big: string;
  n: number;
}

/** The expected target state, changed alongside the events written. */
class Model {
  readonly rows = new Map<number, Row>();
  inserts = 0;
  updates = 0;
  deletes = 0;

  insert(row: Row): ChangeInput {
    this.rows.set(row.id, row);
    this.inserts += 1;
    return ins(TABLE, KEY, COLUMNS, [String(row.id), row.name, row.big, String(row.n)]);
  }

  /** An UPDATE of `n` that leaves the TOASTed column out (unchanged). */
  bumpN(id: number): ChangeInput {
    const row = this.rows.get(id) as Row;
    row.n += 1;
    this.updates += 1;
    return upd(TABLE, KEY, COLUMNS, [String(id), row.name, UNCHANGED, String(row.n)]);
  }

  /** A full UPDATE with a new big value. */
  rewrite(id: number, version: number): ChangeInput {
    const row = this.rows.get(id) as Row;
    row.big = bigValue(id, version);
    this.updates += 1;
    return upd(TABLE, KEY, COLUMNS, [String(id), row.name, row.big, String(row.n)]);
  }

  /** A primary-key change (the big value unchanged). */
  moveKey(from: number, to: number): ChangeInput {
    const row = this.rows.get(from) as Row;
    this.rows.delete(from);
    this.rows.set(to, { ...row, id: to });
    this.updates += 1;
    const values: ColumnValue[] = [String(to), row.name, UNCHANGED, String(row.n)];
    return upd(TABLE, KEY, COLUMNS, values, [String(from)]);
  }

  delete(id: number): ChangeInput {
    this.rows.delete(id);
    this.deletes += 1;
    return del(TABLE, KEY, [String(id)]);
  }

  fingerprint(): string[] {
    return [...this.rows.values()]
      .sort((a, b) => a.id - b.id)
      .map((r) => `${r.id}|${r.name}|${createHash('md5').update(r.big).digest('hex')}|${r.n}`);
  }
}

async function targetFingerprint(db: string): Promise<string[]> {
  const rows = await query<{ line: string }>(target, db, `SELECT id || '|' || name || '|' || md5(big) || '|' || n AS line FROM live.items ORDER BY id`);
  return rows.map((r) => r.line);
}

async function waitForState(db: string, model: Model, timeoutMs: number): Promise<void> {
  const expected = model.fingerprint();
  const deadline = Date.now() + timeoutMs;
  let actual: string[] = [];
  while (Date.now() < deadline) {
    actual = await targetFingerprint(db);
    if (actual.length === expected.length && actual.every((line, i) => line === expected[i])) return;
    await sleep(250);
  }
  expect(actual).toEqual(expected);
}

async function waitForOutput(running: RunningGodwit, pattern: RegExp, timeoutMs: number): Promise<void> {
  let out = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out)) {
    if (Date.now() > deadline || running.child.exitCode !== null) throw new Error(`no ${String(pattern)} in the output: ${out}`);
    await sleep(50);
  }
}

describe('import data to target: a live migration applies the change stream', () => {
  let sourceDb: string;
  let targetDb: string;
  let dirPath: string;
  let dir: ExportDir;
  let store: MigrationStore;
  const model = new Model();
  let version = 1;
  const importArgs = (): string[] => ['import', 'data', 'to', 'target', '--export-dir', dirPath, ...connection(target, 'target', targetDb), '--parallel-jobs', '2'];

  beforeAll(async () => {
    sourceDb = await createDatabase(source, 'liveimp_src');
    await runSql(
      source,
      sourceDb,
      `CREATE SCHEMA live;
       CREATE TABLE live.items (id int PRIMARY KEY, name text NOT NULL UNIQUE, big text NOT NULL, n int NOT NULL);`,
    );
    const values: string[] = [];
    for (let id = 1; id <= SNAPSHOT_ROWS; id++) {
      const row = { id, name: `item-${id}`, big: bigValue(id, 0), n: 0 };
      model.rows.set(id, row);
      values.push(`(${id}, '${row.name}', '${row.big}', 0)`);
    }
    await runSql(source, sourceDb, `INSERT INTO live.items VALUES ${values.join(',')}`);
    dirPath = join(mkdtempSync(join(tmpdir(), 'godwit-liveimp-')), 'export');
    targetDb = await createDatabase(target, 'liveimp_dst');
    const exported = await runGodwit(['export', 'schema', '--export-dir', dirPath, ...connection(source, 'source', sourceDb), '--source-db-schema', 'live'], { env });
    expect(exported.code).toBe(0);
    const imported = await runGodwit(['import', 'schema', '--export-dir', dirPath, ...connection(target, 'target', targetDb)], { env });
    expect(imported.code).toBe(0);
    dir = openExportDir(dirPath);
    await fakeExport(dir, source, sourceDb, ['live'], { kind: 'replication-slot' });
    store = openStore(dir.storeFile);
  });
  afterAll(() => store?.close());

  /** Transactions of a mixed workload: inserts, TOAST-unchanged updates, rewrites, key changes, deletes. */
  function workload(firstNewId: number, count: number): ChangeInput[][] {
    const transactions: ChangeInput[][] = [];
    let nextId = firstNewId;
    for (let t = 0; t < count; t++) {
      const tx: ChangeInput[] = [];
      const ids = () => [...model.rows.keys()];
      tx.push(model.insert({ id: nextId, name: `item-${nextId}`, big: bigValue(nextId, 0), n: 0 }));
      nextId += 1;
      const live = ids();
      const pick = (): number => live[(t * 7919 + tx.length * 104729) % live.length] as number;
      tx.push(model.bumpN(pick()));
      tx.push(model.bumpN(pick()));
      if (t % 3 === 0) tx.push(model.rewrite(pick(), (version += 1)));
      if (t % 5 === 1) {
        const from = pick();
        if (model.rows.has(from)) tx.push(model.moveKey(from, nextId++));
      }
      if (t % 4 === 2) {
        const victim = pick();
        if (model.rows.has(victim)) tx.push(model.delete(victim));
      }
      transactions.push(tx);
    }
    return transactions;
  }

  it('loads the snapshot, applies the events, follows the queue, stops on SIGTERM and reports the counts', async () => {
    await writeTransactions(store, dir.queueDir, workload(10_000, 100));
    const running = startGodwit(importArgs(), { env });
    await waitForOutput(running, /applying the change stream/, 90_000);
    await waitForState(targetDb, model, 60_000);
    // The primary key and the unique index were built after the load.
    const indexes = await query<{ indexname: string }>(target, targetDb, `SELECT indexname FROM pg_indexes WHERE schemaname = 'live' ORDER BY 1`);
    expect(indexes.length).toBe(2);

    // Events appended while it runs arrive.
    await writeTransactions(store, dir.queueDir, workload(20_000, 50));
    await waitForState(targetDb, model, 60_000);

    running.child.kill('SIGTERM');
    const result = await running.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/snapshot part done: 300 rows in \d+ batches loaded into 1 tables, 2 indexes and keys built, 1 tables analyzed, sequences not set \(a live migration sets sequences at cutover\)\./);
    expect(result.stdout).toMatch(/stopped \(interrupted by SIGTERM\) after applying \d+ events in this run; every event up to vsn (\d+) of \1 is applied\. It can be resumed by running the same command\./);
    expect(result.stdout).toContain('TOTAL IMPORTED EVENTS');
    expect(result.stdout).toContain('ESTIMATED TIME TO CATCH UP');
    expect(result.stdout).toMatch(/│ caught up/);
    const logs = readdirSync(join(dirPath, 'logs')).map((f) => readFileSync(join(dirPath, 'logs', f), 'utf8')).join('\n');
    expect(logs).toContain('import metrics');

    const report = await runGodwit(['get', 'data-migration-report', '--export-dir', dirPath, '--output-format', 'json'], { env });
    expect(report.code).toBe(0);
    const parsed = JSON.parse(report.stdout) as { tables: { table: string; importedSnapshotRows: number; importedInserts: number; importedUpdates: number; importedDeletes: number }[] };
    expect(parsed.tables).toEqual([
      expect.objectContaining({ table: '"live"."items"', importedSnapshotRows: SNAPSHOT_ROWS, importedInserts: model.inserts, importedUpdates: model.updates, importedDeletes: model.deletes }),
    ]);
  }, 240_000);

  it('ends with exactly the expected rows after SIGKILLs at random moments and a rerun', async () => {
    await writeTransactions(store, dir.queueDir, workload(30_000, 6000));
    let kills = 0;
    const appliedAtKill: number[] = [];
    const applied = async (): Promise<number> => {
      const rows = await query<{ v: string | null }>(target, targetDb, 'SELECT max(last_applied_vsn)::text AS v FROM godwit_metadata.apply_channels');
      return Number(rows[0]?.v ?? 0);
    };
    const head = (): number => getQueueStreamHead(store, 'source-to-target').lastVsn;
    const midApply: boolean[] = [];
    for (let round = 0; round < 8; round++) {
      // A pause before each COMMIT makes many kills land between the statements and the commit; the
      // kill comes a random moment after this run committed something, while work remains (more is
      // appended after each of the first rounds, so the apply never simply finishes before the kill).
      const running = startGodwit(importArgs(), { env: { ...env, [SLEEP_BEFORE_COMMIT_ENV]: '150' } });
      await waitForOutput(running, /applying the change stream/, 90_000);
      const before = await applied();
      const deadline = Date.now() + 60_000;
      while (running.child.exitCode === null && (await applied()) <= before && Date.now() < deadline) await sleep(20);
      await sleep(Math.floor(Math.random() * 1500));
      const headAtKill = head();
      if (running.child.exitCode === null) {
        running.child.kill('SIGKILL');
        kills += 1;
      }
      await running.done;
      const at = await applied();
      appliedAtKill.push(at);
      midApply.push(at < headAtKill);
      if (round < 6) await writeTransactions(store, dir.queueDir, workload(60_000 + round * 2000, 1000));
    }
    console.log(`live import kills: ${kills}, applied vsn at each kill ${appliedAtKill.join(', ')}, head ${head()}`);
    expect(kills).toBeGreaterThanOrEqual(6);
    // Most kills landed in the middle of the apply: the busiest channel's applied vsn was below the queue head at the kill.
    expect(midApply.filter(Boolean).length).toBeGreaterThanOrEqual(4);
    expect(new Set(appliedAtKill).size).toBeGreaterThanOrEqual(3);
    const final = startGodwit(importArgs(), { env });
    await waitForOutput(final, /applying the change stream/, 90_000);
    await waitForState(targetDb, model, 120_000);
    final.child.kill('SIGTERM');
    const result = await final.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    // No row twice (the key is there) and nothing lost or stale: the state equals the model (checked above).
    const counted = await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM live.items');
    expect(Number(counted[0]?.n)).toBe(model.rows.size);

    // The counts survive the restarts; a SIGKILL may lose the last second of counts, never count twice.
    const report = await runGodwit(['get', 'data-migration-report', '--export-dir', dirPath, '--output-format', 'json'], { env });
    const row = (JSON.parse(report.stdout) as { tables: { importedInserts: number; importedUpdates: number; importedDeletes: number }[] }).tables[0];
    expect(row?.importedInserts).toBeLessThanOrEqual(model.inserts);
    expect(row?.importedUpdates).toBeLessThanOrEqual(model.updates);
    expect(row?.importedDeletes).toBeLessThanOrEqual(model.deletes);
    expect(row?.importedInserts).toBeGreaterThan(150);
  }, 600_000);
});
