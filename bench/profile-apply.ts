// Profiling aid (not part of npm run bench): the importer's own work per change, without a server.
// A queue of synthetic pgbench transactions (as capture writes them) is read by the real queue
// reader, routed to two channels as the apply engine routes them, and each channel's batches are
// planned and turned into their statements and COPY bytes (planBatch, stepScript, copiesOfStep), as
// a channel does before it sends them. Prints CPU time per event (the lowest and the median of the
// rounds after the second, the first ones compiling).
//
//   npx vite-node bench/profile-apply.ts [transactions=64000] [rounds=6]
//   node --cpu-prof node_modules/vite-node/vite-node.mjs bench/profile-apply.ts   (a profile)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyArena, copiesOfStep } from '../src/apply/apply-copy.js';
import { stepScript } from '../src/apply/apply-sql.js';
import { planBatch } from '../src/apply/batch-plan.js';
import { routeChannel } from '../src/apply/routing.js';
import { tableKey, type TargetColumn, type TargetTable } from '../src/apply/target-tables.js';
import { openQueueReader } from '../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../src/capture/queue/segment-writer.js';
import type { ChangeEvent, ChangeInput, TableName } from '../src/core/change-event.js';
import { openStore } from '../src/state/store.js';

const TRANSACTIONS = Number(process.argv[2] ?? 64_000);
const ROUNDS = Number(process.argv[3] ?? 6);
const CHANNELS = 2;
const BATCH = 4000;

/** The tables as target-tables.ts reads them from the catalog (cast types included). */
function table(name: string, columns: readonly (readonly [string, string])[]): TargetTable {
  const map = new Map<string, TargetColumn>(columns.map(([column, castType]) => [column, { name: column, castType, generated: false, identityAlways: false, blankPadded: castType === 'bpchar' }]));
  return { schema: 'public', name, columns: map, uniqueIndexes: [], hasIdentityAlways: false };
}
const TABLES = new Map<string, TargetTable>(
  [
    table('pgbench_accounts', [['aid', 'integer'], ['bid', 'integer'], ['abalance', 'integer'], ['filler', 'bpchar']]),
    table('pgbench_tellers', [['tid', 'integer'], ['bid', 'integer'], ['tbalance', 'integer'], ['filler', 'bpchar']]),
    table('pgbench_branches', [['bid', 'integer'], ['bbalance', 'integer'], ['filler', 'bpchar']]),
    table('pgbench_history', [['tid', 'integer'], ['bid', 'integer'], ['aid', 'integer'], ['delta', 'integer'], ['mtime', 'timestamp without time zone'], ['filler', 'bpchar'], ['hid', 'bigint']]),
  ].map((t) => [tableKey({ schema: t.schema, name: t.name }), t]),
);

/** The queue of a pgbench backlog: each transaction updates an account, a teller, a branch and adds a history row. */
async function writeBacklog(store: ReturnType<typeof openStore>, queueDir: string): Promise<number> {
  const writer = openQueueWriter({ store, queueDir, stream: 'source-to-target' });
  const name = (n: string): TableName => ({ schema: 'public', name: n });
  const accounts = name('pgbench_accounts');
  const tellers = name('pgbench_tellers');
  const branches = name('pgbench_branches');
  const history = name('pgbench_history');
  const filler = ' '.repeat(84);
  const shared = { accounts: ['aid', 'bid', 'abalance', 'filler'], tellers: ['tid', 'bid', 'tbalance', 'filler'], branches: ['bid', 'bbalance', 'filler'], history: ['tid', 'bid', 'aid', 'delta', 'mtime', 'filler', 'hid'] };
  for (let t = 0; t < TRANSACTIONS; t++) {
    const base = { commitLsn: `0/${(0x1000000 + t * 1100).toString(16).toUpperCase()}`, xid: 5000 + t, commitTimeMs: 1_764_700_000_000 + t };
    const aid = String(1 + ((t * 7919) % 1_000_000));
    const tid = String(1 + (t % 100));
    const bid = String(1 + (t % 10));
    const changes: ChangeInput[] = [
      { ...base, table: accounts, op: 'update', keyColumns: ['aid'], columns: shared.accounts, newValues: [aid, bid, String(t % 5000), filler], oldKey: null },
      { ...base, table: tellers, op: 'update', keyColumns: ['tid'], columns: shared.tellers, newValues: [tid, bid, String(t * 3), null], oldKey: null },
      { ...base, table: branches, op: 'update', keyColumns: ['bid'], columns: shared.branches, newValues: [bid, String(t * 7), null], oldKey: null },
      { ...base, table: history, op: 'insert', keyColumns: ['hid'], columns: shared.history, newValues: [tid, bid, aid, String((t % 10_000) - 5000), '2026-12-02 16:20:11.123456', null, String(t + 1)], oldKey: null },
    ];
    for (const change of changes) writer.append(change);
    writer.endTransaction(`0/${(0x1000000 + t * 1100 + 100).toString(16).toUpperCase()}`);
    if (t % 1000 === 999) await writer.commit();
  }
  await writer.commit();
  const last = writer.durablePoint.lastVsn;
  await writer.close();
  return last;
}

const root = mkdtempSync(join(tmpdir(), 'godwit-profile-apply-'));
const queueDir = join(root, 'data', 'queue');
mkdirSync(queueDir, { recursive: true });
const store = openStore(join(root, 'godwit.db'));
const last = await writeBacklog(store, queueDir);
process.stdout.write(`${TRANSACTIONS} pgbench transactions, ${last} events in the queue\n`);

const tableOf = (event: ChangeEvent): TargetTable => TABLES.get(tableKey(event.table)) as TargetTable;
const routing = { channels: CHANNELS, affinity: new Set<string>() };
const perEvent: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const cpuBefore = process.cpuUsage();
  const reader = openQueueReader({ store, queueDir, stream: 'source-to-target', fromVsn: 1, pollIntervalMs: 10 });
  const queues: ChangeEvent[][] = Array.from({ length: CHANNELS }, () => []);
  const arenas = Array.from({ length: CHANNELS }, () => new CopyArena());
  let bytes = 0;
  const apply = (channel: number): void => {
    const batch = (queues[channel] as ChangeEvent[]).splice(0, BATCH);
    const arena = arenas[channel] as CopyArena;
    arena.reset();
    for (const step of planBatch(batch, tableOf, new Set())) {
      const copies = copiesOfStep(step, arena);
      if (copies !== undefined) for (const copy of copies) bytes += copy.data.length;
      else for (const text of stepScript(step)) bytes += text.length;
    }
  };
  let read = 0;
  while (read < last) {
    const events = await reader.read(1000);
    for (const event of events) {
      const channel = routeChannel(event, routing);
      const queue = queues[channel] as ChangeEvent[];
      queue.push(event);
      if (queue.length >= BATCH) apply(channel);
    }
    read += events.length;
  }
  for (let channel = 0; channel < CHANNELS; channel++) while ((queues[channel] as ChangeEvent[]).length > 0) apply(channel);
  reader.close();
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  perEvent.push((cpuMs * 1e6) / read);
  process.stdout.write(`round ${round}: ${read} events, ${(bytes / 1e6).toFixed(1)} MB of statements and COPY data, CPU ${cpuMs.toFixed(0)} ms, ${((cpuMs * 1e6) / read).toFixed(0)} ns per event\n`);
}
store.close();
rmSync(root, { recursive: true, force: true });
const later = perEvent.slice(Math.min(2, perEvent.length - 1)).sort((a, b) => a - b);
process.stdout.write(`ns per event after round 2: lowest ${later[0]?.toFixed(0)}, median ${later[Math.floor(later.length / 2)]?.toFixed(0)}\n`);
