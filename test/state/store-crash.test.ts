// The store must survive SIGKILL at any instant: a child commits transactions in a tight loop, we
// kill it at random moments, and every time the reopened store is intact and holds only whole
// transactions.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_MIGRATIONS, openStore, type StoreMigration } from '../../src/state/store.js';
import { assertBuilt, sleep, startFixture, tempDir } from './child-helpers.js';

/** Must stay identical to the migration in test/fixtures/state-store-writer.mjs. */
const crashTestMigration: StoreMigration = {
  version: STORE_MIGRATIONS.length + 1,
  name: 'crash test tables',
  up(db) {
    db.exec(`
      CREATE TABLE crash_counter (id INTEGER PRIMARY KEY CHECK (id = 1), commits INTEGER NOT NULL) STRICT;
      INSERT INTO crash_counter (id, commits) VALUES (1, 0);
      CREATE TABLE crash_rows (tx INTEGER NOT NULL, n INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (tx, n)) STRICT;
    `);
  },
};

const ROWS_PER_TRANSACTION = 40;
const KILLS = 8;

describe('migration store under SIGKILL', () => {
  let base: { path: string; cleanup: () => void };
  beforeEach(() => {
    assertBuilt();
    base = tempDir('store-crash');
  });
  afterEach(() => base.cleanup());

  it('is intact and holds only whole transactions after every kill', async () => {
    const file = join(base.path, 'godwit.db');
    let previousCommits = 0;
    for (let round = 0; round < KILLS; round += 1) {
      const writer = startFixture('state-store-writer.mjs', [file, String(ROWS_PER_TRANSACTION)]);
      await writer.waitForLine((line) => line.startsWith('ready'));
      await sleep(10 + Math.floor(Math.random() * 250));
      writer.process.kill('SIGKILL');
      const exit = await writer.exited;
      expect(exit.signal).toBe('SIGKILL');
      // The kill left the WAL behind (no clean close): recovery happens on the next open.
      expect(existsSync(`${file}-wal`)).toBe(true);

      const store = openStore(file, { migrations: [...STORE_MIGRATIONS, crashTestMigration] });
      try {
        expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
        const commits = store.db.prepare('SELECT commits FROM crash_counter').pluck().get() as number;
        const rows = store.db.prepare('SELECT count(*) FROM crash_rows').pluck().get() as number;
        const partial = store.db
          .prepare('SELECT count(*) FROM (SELECT tx FROM crash_rows GROUP BY tx HAVING count(*) <> ?)')
          .pluck()
          .get(ROWS_PER_TRANSACTION) as number;
        const maxTx = store.db.prepare('SELECT coalesce(max(tx), 0) FROM crash_rows').pluck().get() as number;
        expect(commits).toBeGreaterThan(previousCommits);
        expect(rows).toBe(ROWS_PER_TRANSACTION * commits);
        expect(partial).toBe(0);
        expect(maxTx).toBe(commits);
        expect(store.schemaVersion()).toBe(STORE_MIGRATIONS.length + 1);
        previousCommits = commits;
      } finally {
        store.close();
      }
    }
  }, 120_000);
});
