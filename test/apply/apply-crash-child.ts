// Crash-test child for apply-crash.test.ts (run with vite-node): applies the queue to the target until
// the given vsn, printing `progress <applied through vsn>` as it goes and `done` at the end, unless it is
// SIGKILLed first. Connection and queue data come in the APPLY_CHILD environment variable (JSON).
import { writeSync } from 'node:fs';
import { openStore } from '../../src/state/store.js';
import { applyQueue, targetSessions } from './apply-helpers.js';
import type { HarnessServer } from '../harness/provided.js';

const config = JSON.parse(process.env.APPLY_CHILD ?? '{}') as {
  server: HarnessServer;
  database: string;
  storeFile: string;
  queueDir: string;
  migrationId: string;
  lastVsn: number;
  channels: number;
};
const store = openStore(config.storeFile);
const sessions = targetSessions(config.server, config.database, config.channels + 2);
writeSync(1, 'ready\n');
const progress = await applyQueue(store, config.queueDir, sessions, config.migrationId, config.lastVsn, {
  channels: config.channels,
  batchSize: 100,
  progressIntervalMs: 50,
  onProgress: (p) => writeSync(1, `progress ${p.appliedThroughVsn}\n`),
});
writeSync(1, `done ${progress.appliedThroughVsn} ${progress.eventsApplied}\n`);
await sessions.end();
store.close();
