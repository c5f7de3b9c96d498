// The live migration PostgreSQL 15 -> 17 through the real CLI under a demanding workload (issue 5,
// "Tests"): a pgbench-like workload (4 concurrent clients running the standard TPC-B-like
// transaction, written in SQL from Node because pgbench is not installed in CI) plus an application
// client doing UPDATEs that leave a TOASTed value unchanged, primary-key changes (also of rows with
// an unchanged TOASTed value), a unique value swapped between two rows (through a temporary value
// under a plain unique index, and directly under a DEFERRABLE unique constraint), rows moving
// between partitions, cascaded deletes, an audit trigger; and one transaction of one million rows.
// The exporter and the importer are SIGKILLed at random moments in several rounds (one right after
// the big transaction commits on the source) and restarted with the same commands. After the
// workload stops the target must become identical to the source, both commands stop with exit 0 on
// SIGTERM, no trigger fired on the target for applied changes, and no target sequence was touched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConfig, createDatabase, dropDatabase, query, runSql, servers, withClient, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, type GodwitResult, type RunningGodwit } from '../helpers/run-godwit.js';
import { sequenceValues, tableChecksums } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
});

const BIG_TRANSACTION_ROWS = 1_000_000;
const PGBENCH_CLIENTS = 4;
const ACCOUNTS = 20_000;
const TELLERS = 20;
const BRANCHES = 2;
const DOCS = 300;
const SEATS = 50;
const PART_ROWS = 600;

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32) so that a failing kill schedule can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A godwit child whose output so far can be waited on. */
interface Watched extends RunningGodwit {
  output(): string;
}

function start(args: string[], extraEnv: Record<string, string> = {}): Watched {
  const running = startGodwit(args, { env: { ...env, ...extraEnv } });
  let text = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  running.child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { ...running, output: () => text };
}

async function waitForOutput(running: Watched, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(running.output())) {
    if (running.child.exitCode !== null) throw new Error(`exited with ${running.child.exitCode} before printing ${pattern}:\n${running.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${running.output()}`);
    await sleep(100);
  }
}

/** SIGKILL; the process must still have been running (a crash of its own would show as an exit code). */
async function kill(running: Watched, what: string): Promise<void> {
  running.child.kill('SIGKILL');
  const result: GodwitResult = await running.done;
  expect(result.code, `${what} had exited on its own before the SIGKILL:\n${result.stdout}\n${result.stderr}`).toBeNull();
}

const SCHEMA = `
  -- pgbench's tables (scale 0.2), with the primary key on pgbench_history the issue asks for
  CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88));
  CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84));
  CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
  CREATE TABLE pgbench_history (id bigserial PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
  INSERT INTO pgbench_branches SELECT b, 0, '' FROM generate_series(1, ${BRANCHES}) b;
  INSERT INTO pgbench_tellers SELECT t, (t - 1) % ${BRANCHES} + 1, 0, '' FROM generate_series(1, ${TELLERS}) t;
  INSERT INTO pgbench_accounts SELECT a, (a - 1) % ${BRANCHES} + 1, 0, '' FROM generate_series(1, ${ACCOUNTS}) a;

  -- documents with a large body stored out of line (EXTERNAL: no compression, so it is TOASTed)
  CREATE TABLE docs (id bigint PRIMARY KEY, version int NOT NULL, title text NOT NULL, body text);
  ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
  INSERT INTO docs SELECT g, 0, 'doc ' || g, (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 200) i)
    FROM generate_series(1, ${DOCS}) g;
  -- the application's own audit trigger: its rows are written on the source and streamed like any other
  CREATE TABLE audit (id bigserial PRIMARY KEY, doc_id bigint NOT NULL, op text NOT NULL, version int);
  CREATE FUNCTION audit_docs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN INSERT INTO audit (doc_id, op, version) VALUES (OLD.id, TG_OP, OLD.version); RETURN OLD; END IF;
      INSERT INTO audit (doc_id, op, version) VALUES (NEW.id, TG_OP, NEW.version); RETURN NEW;
    END $$;
  CREATE TRIGGER docs_audit AFTER INSERT OR UPDATE OR DELETE ON docs FOR EACH ROW EXECUTE FUNCTION audit_docs();

  -- unique values swapped between rows: a plain unique index (through a temporary value) and a
  -- DEFERRABLE unique constraint (swapped directly in one statement)
  CREATE TABLE seats (id int PRIMARY KEY, code text NOT NULL UNIQUE, holder text);
  INSERT INTO seats SELECT g, 'S' || g, 'holder ' || g FROM generate_series(1, ${SEATS}) g;
  CREATE TABLE dseats (id int PRIMARY KEY, code int NOT NULL, CONSTRAINT dseats_code_key UNIQUE (code) DEFERRABLE INITIALLY IMMEDIATE);
  INSERT INTO dseats SELECT g, g FROM generate_series(1, ${SEATS}) g;

  -- a partitioned table whose rows move between partitions (the partition key is part of the key)
  CREATE TABLE parts (id int NOT NULL, region int NOT NULL, payload text, PRIMARY KEY (id, region)) PARTITION BY RANGE (region);
  CREATE TABLE parts_0 PARTITION OF parts FOR VALUES FROM (0) TO (10);
  CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (10) TO (20);
  CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (20) TO (30);
  INSERT INTO parts SELECT g, g % 30, 'p' || g FROM generate_series(1, ${PART_ROWS}) g;

  -- cascaded deletes
  CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL);
  CREATE TABLE order_lines (order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE, line int NOT NULL, qty int NOT NULL,
    PRIMARY KEY (order_id, line));
  INSERT INTO orders SELECT g, g % 17 FROM generate_series(1, 200) g;
  INSERT INTO order_lines SELECT o, l, o * l FROM generate_series(1, 200) o, generate_series(1, 3) l;

  -- the one-million-row transaction goes here
  CREATE TABLE bulk (id bigint PRIMARY KEY, batch int NOT NULL, label text NOT NULL);`;

/** On the target only, outside the compared schema: a trigger on every table that counts its firings. */
const TARGET_PROBE = `
  CREATE SCHEMA probe;
  CREATE TABLE probe.fired (tbl text NOT NULL, op text NOT NULL);
  CREATE FUNCTION probe.count_fired() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO probe.fired VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;
  DO $$ DECLARE t text; BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition LOOP
      EXECUTE format('CREATE TRIGGER probe_fired AFTER INSERT OR UPDATE OR DELETE ON public.%I FOR EACH ROW EXECUTE FUNCTION probe.count_fired()', t);
    END LOOP;
  END $$;`;

interface Stop {
  now: boolean;
}

/** One pgbench client: the standard TPC-B-like transaction until stopped. */
async function pgbenchClient(database: string, stop: Stop, random: () => number): Promise<number> {
  const client = new pg.Client(adminConfig(source, database));
  await client.connect();
  let transactions = 0;
  try {
    while (!stop.now) {
      const aid = 1 + Math.floor(random() * ACCOUNTS);
      const tid = 1 + Math.floor(random() * TELLERS);
      const bid = 1 + Math.floor(random() * BRANCHES);
      const delta = Math.floor(random() * 10001) - 5000;
      await client.query('BEGIN');
      await client.query('UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2', [delta, aid]);
      await client.query('SELECT abalance FROM pgbench_accounts WHERE aid = $1', [aid]);
      await client.query('UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2', [delta, tid]);
      await client.query('UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2', [delta, bid]);
      await client.query('INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)', [tid, bid, aid, delta]);
      await client.query('COMMIT');
      transactions++;
    }
  } finally {
    await client.end();
  }
  return transactions;
}

/** What the application client did, to check that every kind of change really happened. */
interface AppCounts {
  transactions: number;
  toastUnchanged: number;
  keyChanges: number;
  swaps: number;
  deferredSwaps: number;
  partitionMoves: number;
  cascades: number;
}

/** The application: one transaction per iteration mixing the awkward kinds of change. */
async function appClient(database: string, stop: Stop, random: () => number): Promise<AppCounts> {
  const client = new pg.Client(adminConfig(source, database));
  await client.connect();
  const counts: AppCounts = { transactions: 0, toastUnchanged: 0, keyChanges: 0, swaps: 0, deferredSwaps: 0, partitionMoves: 0, cascades: 0 };
  const docIds = Array.from({ length: DOCS }, (_, i) => i + 1);
  let nextDocId = 1_000_000;
  let nextOrder = 201;
  let oldestOrder = 1;
  const pick = <T>(list: T[]): [T, number] => {
    const index = Math.floor(random() * list.length);
    return [list[index] as T, index];
  };
  try {
    for (let i = 0; !stop.now; i++) {
      await client.query('BEGIN');
      // UPDATEs leaving the TOASTed body unchanged
      for (let k = 0; k < 3; k++) {
        await client.query('UPDATE docs SET version = version + 1 WHERE id = $1', [pick(docIds)[0]]);
        counts.toastUnchanged++;
      }
      if (i % 4 === 0) {
        // primary-key change of a row whose TOASTed body stays unchanged
        const [id, index] = pick(docIds);
        const newId = nextDocId++;
        await client.query('UPDATE docs SET id = $2, title = title || $3 WHERE id = $1', [id, newId, ` moved ${i}`]);
        docIds[index] = newId;
        counts.keyChanges++;
      }
      if (i % 9 === 0) {
        // a new body, and a document replaced by another one
        await client.query("UPDATE docs SET body = repeat(md5($2::text), 120), version = version + 1 WHERE id = $1", [pick(docIds)[0], i]);
        const [id, index] = pick(docIds);
        await client.query('DELETE FROM docs WHERE id = $1', [id]);
        const newId = nextDocId++;
        await client.query('INSERT INTO docs VALUES ($1, 0, $2, repeat(md5($2), 150))', [newId, `new ${newId}`]);
        docIds[index] = newId;
      }
      if (i % 2 === 0) {
        // swap a unique code between two seats through a temporary value (plain unique index)
        const a = 1 + Math.floor(random() * SEATS);
        const b = 1 + ((a + Math.floor(random() * (SEATS - 1))) % SEATS);
        const codes = (await client.query<{ id: number; code: string }>('SELECT id, code FROM seats WHERE id IN ($1, $2) FOR UPDATE', [a, b])).rows;
        const codeOf = (id: number): string => codes.find((r) => r.id === id)?.code ?? '';
        await client.query("UPDATE seats SET code = 'tmp-' || id WHERE id = $1", [a]);
        await client.query('UPDATE seats SET code = $2, holder = $3 WHERE id = $1', [b, codeOf(a), `swapped ${i}`]);
        await client.query('UPDATE seats SET code = $2 WHERE id = $1', [a, codeOf(b)]);
        counts.swaps++;
      } else {
        // swap directly under a DEFERRABLE unique constraint (checked at the end of the statement)
        const a = 1 + Math.floor(random() * SEATS);
        const b = 1 + ((a + Math.floor(random() * (SEATS - 1))) % SEATS);
        await client.query(
          `UPDATE dseats d SET code = o.code FROM dseats o
            WHERE (d.id, o.id) IN (($1::int, $2::int), ($2::int, $1::int))`,
          [a, b],
        );
        counts.deferredSwaps++;
      }
      // a row moving to another partition (its key changes: the partition key is part of it)
      const moved = await client.query('UPDATE parts SET region = (region + 10) % 30, payload = payload || $2 WHERE id = $1', [1 + Math.floor(random() * PART_ROWS), '+']);
      counts.partitionMoves += moved.rowCount ?? 0;
      if (i % 3 === 0) {
        // a new order with lines, and the oldest order deleted with its lines by ON DELETE CASCADE
        await client.query('INSERT INTO orders VALUES ($1, $2)', [nextOrder, i % 17]);
        await client.query('INSERT INTO order_lines SELECT $1, l, l * 7 FROM generate_series(1, 3) l', [nextOrder]);
        nextOrder++;
        await client.query('DELETE FROM orders WHERE id = $1', [oldestOrder++]);
        counts.cascades++;
      }
      await client.query('COMMIT');
      counts.transactions++;
    }
  } finally {
    await client.end();
  }
  return counts;
}

async function rowCounts(server: HarnessServer, database: string): Promise<string> {
  const rows = await query<{ n: string }>(server, database,
    `SELECT (SELECT count(*) FROM bulk) || '/' || (SELECT count(*) FROM pgbench_history) || '/' || (SELECT count(*) FROM audit)
          || '/' || (SELECT count(*) FROM order_lines) || '/' || (SELECT count(*) FROM docs) AS n`);
  return rows[0]?.n ?? '';
}

describe('live migration end to end under a pgbench-like and an awkward workload', () => {
  it('the target becomes identical to the source despite repeated SIGKILLs of exporter and importer', async () => {
    const began = Date.now();
    const seed = Math.floor(Math.random() * 2 ** 31);
    console.log(`live-workload: kill schedule seed ${seed}`);
    const random = prng(seed);
    const sourceDb = await createDatabase(source, 'live_load_src');
    const targetDb = await createDatabase(target, 'live_load_dst');
    created.push([source, sourceDb], [target, targetDb]);
    await runSql(source, sourceDb, SCHEMA);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-live-load-')), 'export')];
    const schemaExport = await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env });
    expect(schemaExport.code, schemaExport.stderr).toBe(0);
    const schemaImport = await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env });
    expect(schemaImport.code, schemaImport.stderr).toBe(0);
    await runSql(target, targetDb, TARGET_PROBE);
    const targetSequencesBefore = await sequenceValues(target, targetDb, ['public']);
    expect(Object.keys(targetSequencesBefore).sort()).toEqual(['public.audit_id_seq', 'public.pgbench_history_id_seq']);

    const exportArgs = ['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb), '--export-type', 'snapshot-and-changes', '--parallel-jobs', '2'];
    const importArgs = ['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb), '--parallel-jobs', '2'];

    const stop: Stop = { now: false };
    const failures: unknown[] = [];
    const watch = <T>(promise: Promise<T>): Promise<T | undefined> => promise.catch((error: unknown) => void failures.push(error));
    const pgbench = Array.from({ length: PGBENCH_CLIENTS }, (_, c) => watch(pgbenchClient(sourceDb, stop, prng(seed + c + 1))));
    const app = watch(appClient(sourceDb, stop, prng(seed + 100)));

    let exporter = start(exportArgs);
    let importer = start(importArgs);
    // The first kills only once both are streaming (a kill during the export's snapshot asks for --start-clean).
    await waitForOutput(exporter, /streaming changes from replication slot/, 60_000);
    await waitForOutput(importer, /snapshot part done/, 60_000);

    const between = (min: number, max: number): number => min + Math.floor(random() * (max - min));
    let kills = 0;
    const rounds = 5;
    const bigRound = 2;
    let bigCommittedAt = 0;
    for (let round = 0; round < rounds; round++) {
      if (round === bigRound) {
        // The one-million-row transaction; both processes killed the moment it has committed.
        const t0 = Date.now();
        await runSql(source, sourceDb, `INSERT INTO bulk SELECT g, g % 100, 'row ' || g FROM generate_series(1, ${BIG_TRANSACTION_ROWS}) g`);
        bigCommittedAt = Date.now();
        console.log(`live-workload: ${BIG_TRANSACTION_ROWS} rows committed in ${bigCommittedAt - t0} ms`);
      } else {
        await sleep(between(1000, 3000));
      }
      // Both killed at their own random moment of the round, in a random order.
      const [first, second] = random() < 0.5 ? (['exporter', 'importer'] as const) : (['importer', 'exporter'] as const);
      const processes = { exporter, importer };
      await kill(processes[first], first);
      await sleep(round === bigRound ? 0 : between(0, 800));
      await kill(processes[second], second);
      kills += 2;
      // The importer runs started before the big transaction wait 20 ms before each COMMIT, so that more kills land between applying a batch and committing it.
      const beforeCommit: Record<string, string> = round < bigRound ? { GODWIT_TEST_APPLY_SLEEP_BEFORE_COMMIT_MS: '20' } : {};
      exporter = start(exportArgs);
      importer = start(importArgs, beforeCommit);
    }
    await sleep(between(1000, 3000));
    stop.now = true;
    const benchTransactions = await Promise.all(pgbench);
    const appCounts = await app;
    expect(failures).toEqual([]);
    const workloadStoppedAt = Date.now();
    console.log(`live-workload: pgbench transactions ${JSON.stringify(benchTransactions)}, application ${JSON.stringify(appCounts)}, ${kills} SIGKILLs`);
    for (const n of benchTransactions) expect(n).toBeGreaterThan(50);
    expect(appCounts?.keyChanges).toBeGreaterThan(5);
    expect(appCounts?.deferredSwaps).toBeGreaterThan(5);
    expect(appCounts?.cascades).toBeGreaterThan(5);

    // Poll until the target holds what the source holds: cheap counts first, then every table's md5.
    const expected = await tableChecksums(source, sourceDb, ['public']);
    const expectedCounts = await rowCounts(source, sourceDb);
    let actual: Record<string, string> = {};
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (exporter.child.exitCode !== null || importer.child.exitCode !== null) break;
      if ((await rowCounts(target, targetDb)) === expectedCounts) {
        actual = await tableChecksums(target, targetDb, ['public']);
        if (JSON.stringify(actual) === JSON.stringify(expected)) break;
      }
      await sleep(500);
    }
    console.log(`live-workload: converged ${Date.now() - workloadStoppedAt} ms after the workload stopped ` +
      `(${Date.now() - bigCommittedAt} ms after the big transaction, ${Date.now() - began} ms in all)`);
    for (const running of [exporter, importer]) running.child.kill('SIGTERM');
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stdout + exported.stderr).toBe(0);
    expect(imported.code, imported.stdout + imported.stderr).toBe(0);
    expect(actual).toEqual(expected);
    expect(actual['public.bulk']).toMatch(new RegExp(`^${BIG_TRANSACTION_ROWS} `));

    // Triggers did not fire on the target for applied changes: the probe counted nothing, and the
    // application's audit table holds exactly the source's rows (checked above through the md5).
    expect(await query(target, targetDb, 'SELECT tbl, op, count(*)::int AS n FROM probe.fired GROUP BY 1, 2')).toEqual([]);
    // ... and the probe is there on every table and does fire for a write of an ordinary session.
    const probes = await query<{ n: number }>(target, targetDb, "SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = 'probe_fired' AND tgparentid = 0");
    expect(probes[0]?.n).toBe(12);
    const fired = await withClient(target, targetDb, async (client) => {
      await client.query('BEGIN');
      await client.query('UPDATE seats SET holder = holder WHERE id = 1');
      const rows = (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM probe.fired')).rows;
      await client.query('ROLLBACK');
      return rows[0]?.n;
    });
    expect(fired).toBe(1);
    // The application's audit trigger fired on the source; the target holds its rows only through the stream.
    const audits = await query<{ n: number }>(source, sourceDb, 'SELECT count(*)::int AS n FROM audit');
    expect(audits[0]?.n).toBeGreaterThan(appCounts?.toastUnchanged ?? 0);
    // The direct swap really ran under a DEFERRABLE constraint on both sides.
    for (const [server, db] of [[source, sourceDb], [target, targetDb]] as const) {
      const deferrable = await query<{ d: boolean }>(server, db, "SELECT condeferrable AS d FROM pg_constraint WHERE conname = 'dseats_code_key'");
      expect(deferrable).toEqual([{ d: true }]);
    }
    // The live import leaves the target's sequences alone (cutover sets them).
    expect(await sequenceValues(target, targetDb, ['public'])).toEqual(targetSequencesBefore);
  }, 300_000);
});
