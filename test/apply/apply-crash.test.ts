// Exactly once under SIGKILL (invariant 3): a child applies a queue of generated changes and is killed
// at random moments, many times, mostly with a pause between the last statement and COMMIT so that many
// kills land there (every third round without it, as in production); each restart uses another channel count now and then (the routing is rebased only after
// the replay). At the end the target holds exactly the state the workload model computed on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLEEP_BEFORE_COMMIT_ENV } from '../../src/apply/apply-transaction.js';
import type { MigrationStore } from '../../src/state/store.js';
import { createDatabase, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { sleep, startTsChild } from '../queue/queue-helpers.js';
import { newMigrationId, queuePlace, writeTransactions, type QueuePlace } from './apply-helpers.js';
import { ACTUAL_SQL, WORKLOAD_SQL, generateWorkload } from './apply-workload.js';

const ROUNDS = 25;

describe('apply under SIGKILL', () => {
  const { target } = servers();
  let db: string;
  let place: QueuePlace;
  let store: MigrationStore;

  beforeAll(async () => {
    db = await createDatabase(target, 'apply_crash');
    await runSql(target, db, WORKLOAD_SQL);
    place = queuePlace('apply-crash');
    store = place.openStore();
  });
  afterAll(async () => {
    store?.close();
    place?.cleanup();
    if (db !== undefined) await dropDatabase(target, db);
  });

  it('ends with exactly the expected rows after many kills', async () => {
    const workload = generateWorkload(3000, 42);
    const lastVsn = await writeTransactions(store, place.queueDir, workload.transactions);
    const migrationId = newMigrationId();
    const base = { server: target, database: db, storeFile: place.storeFile, queueDir: place.queueDir, migrationId, lastVsn };
    // vite-node passes its environment on; the child reads its settings from APPLY_CHILD.
    const run = (channels: number, pauseMs: number) => {
      process.env.APPLY_CHILD = JSON.stringify({ ...base, channels });
      process.env[SLEEP_BEFORE_COMMIT_ENV] = String(pauseMs);
      try {
        return startTsChild('../apply/apply-crash-child.ts', []);
      } finally {
        delete process.env.APPLY_CHILD;
        delete process.env[SLEEP_BEFORE_COMMIT_ENV];
      }
    };
    let kills = 0;
    let finishedEarly = 0;
    let previous = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Every third round runs as in production (no pause: each transaction goes as one text, with its
      // COPYs, in one round trip) and is killed soon, while those texts are in flight.
      const production = round % 3 === 2;
      const child = run(round % 5 === 4 ? 2 : 3, production ? 0 : 15);
      await child.waitForLine((line) => line === 'ready', 60_000);
      await sleep(production ? 20 + Math.floor(Math.random() * 100) : 100 + Math.floor(Math.random() * 900));
      const done = child.lines.some((line) => line.startsWith('done'));
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      if (done || exit.signal !== 'SIGKILL') finishedEarly += 1;
      else kills += 1;
      expect(child.stderr(), `round ${round}`).not.toMatch(/Error/);
      const rows = await query<{ last: string }>(target, db, 'SELECT min(last_applied_vsn)::text AS last FROM godwit_metadata.apply_channels WHERE migration_id = $1', [migrationId]);
      const low = Number(rows[0]?.last ?? 0);
      expect(low).toBeGreaterThanOrEqual(previous);
      previous = low;
      if (low >= lastVsn) break;
    }
    const last = run(3, 0);
    const doneLine = await last.waitForLine((line) => line.startsWith('done'), 120_000);
    await last.exited;
    expect(Number(doneLine.split(' ')[1])).toBe(lastVsn);
    for (const table of ['acct', 'uq', 'kc'] as const) {
      const actual = (await query<Record<string, string | null>>(target, db, ACTUAL_SQL[table])).map((row) => JSON.stringify(Object.values(row)));
      const expected = workload.expected[table].map((row) => JSON.stringify(row));
      const wanted = new Set(expected);
      const got = new Set(actual);
      const differences = [...expected.filter((row) => !got.has(row)).map((row) => `missing ${row.slice(0, 100)}`), ...actual.filter((row) => !wanted.has(row)).map((row) => `unexpected ${row.slice(0, 100)}`)];
      expect(differences, table).toEqual([]);
    }
    console.log(`apply crash test: ${kills} kills (${finishedEarly} rounds finished before the kill), ${lastVsn} events, ${workload.transactions.length} transactions`);
    expect(kills).toBeGreaterThanOrEqual(5);
  }, 600_000);
});
