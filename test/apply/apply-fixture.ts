// The fixture of apply test files that run the apply over a real queue: a target database made with
// the file's SQL, a queue place and its store, and loader sessions, set up before the file's tests
// and removed after them (vitest hooks: call it inside a describe block).
import { afterAll, beforeAll } from 'vitest';
import type { LoaderSessions } from '../../src/engines/loader-sessions.js';
import type { MigrationStore } from '../../src/state/store.js';
import { createDatabase, dropDatabase, runSql, type HarnessServer } from '../harness/index.js';
import { queuePlace, targetSessions, type QueuePlace } from './apply-helpers.js';

/** What the fixture made; read its fields in tests (they are set by the beforeAll hook). */
export interface ApplyFixture {
  db: string;
  place: QueuePlace;
  store: MigrationStore;
  sessions: LoaderSessions;
}

/** Registers the hooks that make and remove a fixture on `target`, its database named after `prefix`. */
export function applyFixture(target: HarnessServer, prefix: string, sql: string): ApplyFixture {
  const fixture = {} as ApplyFixture;
  beforeAll(async () => {
    fixture.db = await createDatabase(target, prefix);
    await runSql(target, fixture.db, sql);
    fixture.place = queuePlace(prefix.replace(/_/g, '-'));
    fixture.store = fixture.place.openStore();
    fixture.sessions = targetSessions(target, fixture.db);
  });
  afterAll(async () => {
    await fixture.sessions?.end();
    fixture.store?.close();
    fixture.place?.cleanup();
    if (fixture.db !== undefined) await dropDatabase(target, fixture.db);
  });
  return fixture;
}
