import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../../src/core/errors.js';
import { GODWIT_VERSION } from '../../src/core/version.js';
import { STORE_MIGRATIONS, openStore, type StoreMigration } from '../../src/state/store.js';
import { tempDir } from './child-helpers.js';

const notesMigration: StoreMigration = {
  version: STORE_MIGRATIONS.length + 1,
  name: 'test notes',
  up(db) {
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL) STRICT');
  },
};

describe('migration store', () => {
  let base: { path: string; cleanup: () => void };
  let file: string;
  beforeEach(() => {
    base = tempDir('store');
    file = join(base.path, 'godwit.db');
  });
  afterEach(() => base.cleanup());

  it('applies its migrations once and records the schema version', () => {
    const clock = () => new Date('2025-01-02T03:04:05.000Z');
    const store = openStore(file, { clock });
    expect(store.schemaVersion()).toBe(STORE_MIGRATIONS.length);
    expect(store.appliedMigrations()).toEqual(
      STORE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name, appliedAt: '2025-01-02T03:04:05.000Z', godwitVersion: GODWIT_VERSION })),
    );
    const record = store.getMigrationRecord();
    expect(record).toMatchObject({ createdAt: '2025-01-02T03:04:05.000Z', godwitVersion: GODWIT_VERSION });
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(Number(store.db.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
    store.close();

    const again = openStore(file, { clock: () => new Date('2030-01-01T00:00:00.000Z') });
    expect(again.appliedMigrations().map((m) => m.appliedAt)).toEqual(STORE_MIGRATIONS.map(() => '2025-01-02T03:04:05.000Z'));
    expect(again.getMigrationRecord()).toEqual(record);
    again.close();
  });

  it('adds tables through a new migration, keeping the data of the old ones', () => {
    const store = openStore(file);
    const id = store.getMigrationId();
    store.setPhaseStatus('export-schema', 'done');
    store.close();

    const upgraded = openStore(file, { migrations: [...STORE_MIGRATIONS, notesMigration] });
    expect(upgraded.schemaVersion()).toBe(STORE_MIGRATIONS.length + 1);
    expect(upgraded.getMigrationId()).toBe(id);
    expect(upgraded.getPhaseStatus('export-schema').state).toBe('done');
    upgraded.transaction((db) => db.prepare('INSERT INTO notes (body) VALUES (?)').run('hello'));
    expect(upgraded.db.prepare('SELECT body FROM notes').pluck().all()).toEqual(['hello']);
    upgraded.close();
  });

  it('rolls back a failed transaction as a whole', () => {
    const store = openStore(file, { migrations: [...STORE_MIGRATIONS, notesMigration] });
    expect(() =>
      store.transaction((db) => {
        db.prepare('INSERT INTO notes (body) VALUES (?)').run('first');
        store.setPhaseStatus('assess-migration', 'running');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(0);
    expect(store.getPhaseStatus('assess-migration').state).toBe('not-started');
    store.close();
  });

  it('refuses a store written by a newer godwit, and leaves it untouched', () => {
    const newer = openStore(file, { migrations: [...STORE_MIGRATIONS, notesMigration], godwitVersion: '9.9.9' });
    newer.close();
    let caught: unknown;
    try {
      openStore(file);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateError);
    const known = STORE_MIGRATIONS.length;
    expect((caught as StateError).message).toBe(
      `The migration store ${file} has schema version ${known + 1}, but this godwit (${GODWIT_VERSION}) knows versions up to ${known}: it was written by godwit 9.9.9.`,
    );
    expect((caught as StateError).hint).toBe('Run this migration with godwit 9.9.9 or later.');
    const raw = new Database(file);
    expect(raw.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(known + 1);
    raw.close();
  });

  it('refuses a file that is not a store', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'this is not SQLite, just some text that is long enough to have a header '.repeat(10));
    expect(() => openStore(file)).toThrow(StateError);
  });

  it('round-trips phase status', () => {
    let now = new Date('2025-05-05T10:00:00.000Z');
    const store = openStore(file, { clock: () => now });
    expect(store.getPhaseStatus('export-data-from-source')).toEqual({
      phase: 'export-data-from-source',
      state: 'not-started',
      updatedAt: null,
      detail: null,
    });
    store.setPhaseStatus('export-data-from-source', 'running', 'snapshot of 12 tables');
    now = new Date('2025-05-05T11:00:00.000Z');
    store.setPhaseStatus('export-schema', 'done');
    store.setPhaseStatus('export-data-from-source', 'failed', 'slot lost');
    expect(store.getPhaseStatus('export-data-from-source')).toEqual({
      phase: 'export-data-from-source',
      state: 'failed',
      updatedAt: '2025-05-05T11:00:00.000Z',
      detail: 'slot lost',
    });
    store.close();

    const reopened = openStore(file);
    expect(reopened.listPhaseStatus()).toEqual([
      { phase: 'export-data-from-source', state: 'failed', updatedAt: '2025-05-05T11:00:00.000Z', detail: 'slot lost' },
      { phase: 'export-schema', state: 'done', updatedAt: '2025-05-05T11:00:00.000Z', detail: null },
    ]);
    expect(() => reopened.setPhaseStatus('x', 'paused' as never)).toThrow(StateError);
    reopened.close();
  });

  it('lets two connections (as two processes would) open a new store at once', () => {
    const a = openStore(file);
    const b = openStore(file);
    expect(a.getMigrationId()).toBe(b.getMigrationId());
    a.setPhaseStatus('export-schema', 'done');
    expect(b.getPhaseStatus('export-schema').state).toBe('done');
    a.close();
    b.close();
  });
});
