// Measures the change queue's write and read speed with pgbench-like events (not a test: run it by
// hand). Usage: npx vite-node test/queue/measure-speed.ts [events] [events per transaction] [transactions per commit]
import { performance } from 'node:perf_hooks';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeInput } from '../../src/core/change-event.js';
import { queuePlace } from './queue-helpers.js';

const [eventsArg, perTxArg, perCommitArg] = process.argv.slice(2).filter((arg) => arg !== '--');
const total = Number(eventsArg ?? 1_000_000);
const perTransaction = Number(perTxArg ?? 4);
const transactionsPerCommit = Number(perCommitArg ?? 500);

/** One of pgbench's four changes per transaction. */
function pgbenchChange(i: number): ChangeInput {
  const tx = Math.floor(i / 4);
  const commitLsn = `0/${(0x1000000 + tx * 512).toString(16).toUpperCase()}`;
  const base = { commitLsn, xid: 5000 + tx, commitTimeMs: 1_700_000_000_000 + tx };
  switch (i % 4) {
    case 0:
      return { ...base, table: { schema: 'public', name: 'pgbench_accounts' }, op: 'update', keyColumns: ['aid'], columns: ['aid', 'bid', 'abalance', 'filler'], newValues: [String(i % 1_000_000), String(i % 10), String(i % 5000 - 2500), ' '.repeat(84)], oldKey: null };
    case 1:
      return { ...base, table: { schema: 'public', name: 'pgbench_tellers' }, op: 'update', keyColumns: ['tid'], columns: ['tid', 'bid', 'tbalance', 'filler'], newValues: [String(i % 100), String(i % 10), String(i % 7000), null], oldKey: null };
    case 2:
      return { ...base, table: { schema: 'public', name: 'pgbench_branches' }, op: 'update', keyColumns: ['bid'], columns: ['bid', 'bbalance', 'filler'], newValues: [String(i % 10), String(i % 9000), null], oldKey: null };
    default:
      return { ...base, table: { schema: 'public', name: 'pgbench_history' }, op: 'insert', keyColumns: ['hid'], columns: ['hid', 'tid', 'bid', 'aid', 'delta', 'mtime', 'filler'], newValues: [String(i), String(i % 100), String(i % 10), String(i % 1_000_000), String(i % 5000), '2025-01-01 12:00:00.123456', null], oldKey: null };
  }
}

const place = queuePlace('speed');
const store = place.openStore();
try {
  const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
  const changes = Array.from({ length: 4 }, (_, i) => pgbenchChange(i));
  let commits = 0;
  const writeStart = performance.now();
  for (let i = 0; i < total; i += 1) {
    writer.append(changes[i % 4] ?? pgbenchChange(i));
    if ((i + 1) % perTransaction === 0) {
      writer.endTransaction(`0/${(i + 1).toString(16)}`);
      if ((i + 1) % (perTransaction * transactionsPerCommit) === 0) {
        await writer.commit();
        commits += 1;
      }
    }
  }
  writer.endTransaction('0/FFFFFFFF');
  await writer.commit();
  commits += 1;
  const writeMs = performance.now() - writeStart;
  await writer.close();

  const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target' });
  const readStart = performance.now();
  let read = 0;
  for (;;) {
    const batch = await reader.read(10_000);
    if (batch.length === 0) break;
    read += batch.length;
  }
  const readMs = performance.now() - readStart;
  reader.close();
  const bytes = (store.db.prepare('SELECT sum(committed_size) FROM queue_segments').pluck().get() as number) ?? 0;
  console.log(
    `${total} events (${perTransaction} per transaction, ${commits} commits with fsync): ` +
      `write ${Math.round(total / (writeMs / 1000))} events/s (${writeMs.toFixed(0)} ms), ` +
      `read ${Math.round(read / (readMs / 1000))} events/s (${readMs.toFixed(0)} ms), ` +
      `${(bytes / total).toFixed(0)} bytes per event on disk`,
  );
  if (read !== total) throw new Error(`read ${read} events, wrote ${total}`);
} finally {
  store.close();
  place.cleanup();
}
