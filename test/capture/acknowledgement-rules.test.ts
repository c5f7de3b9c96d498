// The acknowledgement discipline of the capture pipeline, message by message: a scripted stream
// (the messages a pgoutput stream sends, at chosen positions) into a real queue writer, recording
// every position confirmed and what the queue held durably at that moment. The end-to-end tests
// against PostgreSQL cover the same rules with a real server; here each rule is pinned exactly:
// never inside a transaction, only after the queue commit, keepalives only when idle and durable and
// never beyond the keepalive or below the slot's position, group commits, the restart skip (also for
// equal commit and end LSNs, as YugabyteDB may send), and the stops leaving whole transactions only.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptureStoppedError, runCapture, type CaptureStream, type RunCaptureOptions, type StreamItem, type StreamMessage, type StreamRelation } from '../../src/capture/index.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import { UNCHANGED } from '../../src/core/change-event.js';
import { formatLsn, type Lsn } from '../../src/core/lsn.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { eventually, readQueue, sleep } from './helpers.js';

/** A stream that delivers scripted items, then waits for more (push) or stop(). */
class ScriptedStream implements CaptureStream {
  readonly confirmed: { lsn: string; durable: string | null }[] = [];
  stopped = false;
  private readonly items: StreamItem[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly writer: () => QueueWriter) {}

  push(...items: StreamItem[]): void {
    this.items.push(...items);
    this.wake?.();
  }

  async next(): Promise<StreamItem | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const item = this.items.shift();
      if (item !== undefined) return item;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  confirmFlushed(lsn: Lsn): void {
    this.confirmed.push({ lsn: formatLsn(lsn), durable: this.writer().durablePoint.endLsn });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
  }
}

const x = (message: StreamMessage): StreamItem => ({ kind: 'xlogdata', message });
const keepalive = (walEnd: number): StreamItem => ({ kind: 'keepalive', walEnd: BigInt(walEnd) });
const begin = (finalLsn: number, xid = 7): StreamItem => x({ tag: 'begin', finalLsn: BigInt(finalLsn), commitTime: 0n, xid });
const commit = (commitLsn: number, endLsn: number): StreamItem => x({ tag: 'commit', commitLsn: BigInt(commitLsn), endLsn: BigInt(endLsn), commitTime: 0n });

function relation(columns: [string, boolean][], name = 't', relationId = 16384): StreamRelation {
  return {
    relationId,
    namespace: 'app',
    name,
    replicaIdentity: 'default',
    columns: columns.map(([column, isKey]) => ({ name: column, isKey, typeOid: 25, typeModifier: -1 })),
  };
}
const T = relation([
  ['id', true],
  ['v', false],
]);
const rel = (r: StreamRelation = T): StreamItem => x({ tag: 'relation', relation: r });
const insert = (id: string, r: StreamRelation = T): StreamItem => x({ tag: 'insert', relation: r, newTuple: [id, `v${id}`] });
const update = (id: string, r: StreamRelation = T): StreamItem => x({ tag: 'update', relation: r, oldKind: undefined, oldTuple: undefined, newTuple: [id, Symbol('u')] });

let root: string;
let store: MigrationStore;
let writer: QueueWriter;
let stream: ScriptedStream;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'godwit-capture-rules-'));
  mkdirSync(join(root, 'queue'));
  store = openStore(join(root, 'godwit.db'));
  writer = openQueueWriter({ store, queueDir: join(root, 'queue'), stream: 'source-to-target' });
  stream = new ScriptedStream(() => writer);
});

afterEach(async () => {
  await writer.close();
  store.close();
  rmSync(root, { recursive: true, force: true });
});

/** Runs capture on the scripted stream with group-commit limits the scripts stay under by count (a group commits by age, after 200 ms, or at the end). */
function run(options: Partial<RunCaptureOptions> = {}, controller = new AbortController()): { done: ReturnType<typeof runCapture>; controller: AbortController } {
  const done = runCapture({ stream, queue: writer, signal: controller.signal, groupCommit: { maxEvents: 1_000, maxDelayMs: 200 }, ...options });
  return { done, controller };
}

async function events(): Promise<string[]> {
  return (await readQueue(store, join(root, 'queue'))).map((e) => `${e.vsn}:${e.op}:${String(e.newValues?.[0] ?? e.oldKey?.[0])}@${e.commitLsn}`);
}

describe('acknowledgement rules', () => {
  it('confirms a transaction end only after the queue commit, and never inside a transaction', async () => {
    const { done, controller } = run();
    stream.push(begin(0x100), rel(), insert('1'), keepalive(0x500), insert('2'), commit(0x180, 0x190));
    await sleep(50);
    expect(stream.confirmed).toEqual([]); // the keepalive came inside the transaction; the end waits for a commit
    stream.push(keepalive(0x600));
    // The keepalive waits for the group's commit (by age): then the end, then the keepalive position.
    await eventually(() =>
      expect(stream.confirmed).toEqual([
        { lsn: '0/190', durable: '0/190' },
        { lsn: '0/600', durable: '0/190' },
      ]),
    );
    controller.abort();
    const result = await done;
    expect(result).toMatchObject({ end: 'aborted', durable: { lastVsn: 2, endLsn: '0/190' } });
    expect(await events()).toEqual(['1:insert:1@0/100', '2:insert:2@0/100']);
    expect(stream.stopped).toBe(true);
  });

  it('confirms keepalives only at or past the slot position, and not at all before knowing it', async () => {
    let { done, controller } = run();
    stream.push(keepalive(0x800));
    await sleep(30);
    controller.abort();
    await done;
    expect(stream.confirmed).toEqual([]);

    stream = new ScriptedStream(() => writer);
    ({ done, controller } = run({ slotConfirmedLsn: 0x1000n }));
    stream.push(keepalive(0x800), keepalive(0x1200));
    await eventually(() => expect(stream.confirmed).toHaveLength(1));
    await sleep(30);
    controller.abort();
    await done;
    expect(stream.confirmed.map((c) => c.lsn)).toEqual(['0/1200']);
  });

  it('reads on while a group commit runs, records each commit with exactly its own transactions, and confirms nothing before its commit', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const recorded: string[][] = [];
    const { done, controller } = run({
      groupCommit: { maxEvents: 2, maxDelayMs: 200 },
      recordCounts: (tables) => recorded.push(tables.map((t) => `${t.table.name}:${t.inserts}i`)),
      // The first commit is durable but its acknowledgement waits (as if its fsync were slow).
      afterQueueCommit: async () => {
        if (first) {
          first = false;
          await held;
        }
      },
    });
    stream.push(begin(0x100), rel(), insert('1'), insert('2'), commit(0x110, 0x120));
    await eventually(() => expect(writer.durablePoint.endLsn).toBe('0/120'));
    // Meanwhile the stream is read on: the next transaction lands in the queue (not yet committed).
    stream.push(begin(0x200), insert('3'), commit(0x210, 0x220), keepalive(0x900));
    await eventually(() => expect(writer.nextVsn).toBe(4));
    await sleep(30);
    expect(stream.confirmed).toEqual([]); // neither the first end (its commit has not returned) nor the keepalive
    release();
    await eventually(() =>
      expect(stream.confirmed).toEqual([
        { lsn: '0/120', durable: '0/120' },
        { lsn: '0/220', durable: '0/220' },
        { lsn: '0/900', durable: '0/220' },
      ]),
    );
    expect(recorded).toEqual([['t:2i'], ['t:1i']]);
    controller.abort();
    expect(await done).toMatchObject({ durable: { lastVsn: 3, endLsn: '0/220' } });
  });

  it('acknowledges the keepalive that follows every transaction of a live source with the group, not with a commit each', async () => {
    let commits = 0;
    const { done, controller } = run({ groupCommit: { maxEvents: 1_000, maxDelayMs: 300 }, recordCounts: () => void commits++ });
    // A walsender that caught up sends a keepalive after each transaction while the confirmed position lags.
    stream.push(begin(0x100), rel());
    for (let i = 1; i <= 20; i++) stream.push(...(i > 1 ? [begin(0x100 * i)] : []), insert(String(i)), commit(0x100 * i + 0x10, 0x100 * i + 0x20), keepalive(0x100 * i + 0x30));
    await sleep(100);
    expect(stream.confirmed).toEqual([]); // before the group's age: no commit, no confirmation
    await eventually(() => expect(stream.confirmed.at(-1)).toEqual({ lsn: '0/1430', durable: '0/1420' }));
    expect(commits).toBe(1);
    expect(stream.confirmed.map((c) => c.lsn)).toEqual(['0/1420', '0/1430']);
    controller.abort();
    await done;
    expect(await events()).toHaveLength(20);
  });

  it('commits at the keepalive that says the server sent all it has a group of a thousand events or more, or the tail of such a group, not at its age', async () => {
    let commits = 0;
    const { done, controller } = run({ groupCommit: { maxEvents: 10_000, maxDelayMs: 60_000 }, recordCounts: () => void commits++ });
    const inserts = (from: number, count: number): StreamItem[] => Array.from({ length: count }, (_, i) => insert(String(from + i)));
    // The first group commits by count (1,000 events); later ones would wait for 2,000 events or a minute.
    stream.push(begin(0x100), rel(), ...inserts(0, 1_000), commit(0x110, 0x120));
    await eventually(() => expect(commits).toBe(1));
    // The last transactions of a burst, then the walsender has nothing more and says so.
    stream.push(begin(0x200), ...inserts(1_000, 5), commit(0x210, 0x220), keepalive(0x230));
    await eventually(() => expect(stream.confirmed.at(-1)).toEqual({ lsn: '0/230', durable: '0/220' }));
    expect(commits).toBe(2);
    // A quiet stream: after a small group, 999 events wait for their age...
    stream.push(begin(0x300), ...inserts(1_005, 999), commit(0x310, 0x320), keepalive(0x330));
    await sleep(100);
    expect(commits).toBe(2);
    // ... and a thousand do not.
    stream.push(begin(0x400), ...inserts(2_004, 1), commit(0x410, 0x420), keepalive(0x430));
    await eventually(() => expect(stream.confirmed.at(-1)).toEqual({ lsn: '0/430', durable: '0/420' }));
    expect(commits).toBe(3);
    controller.abort();
    await done;
    expect(await events()).toHaveLength(2_005);
  });

  it('commits in groups by event count and by age', async () => {
    const { done, controller } = run({ groupCommit: { maxEvents: 3, maxDelayMs: 400 } });
    stream.push(begin(0x100), rel(), insert('1'), insert('2'), commit(0x110, 0x120));
    await sleep(40);
    expect(stream.confirmed).toEqual([]); // 2 events, 40 ms: not yet
    stream.push(begin(0x200), insert('3'), insert('4'), commit(0x210, 0x220));
    await eventually(() => expect(stream.confirmed).toEqual([{ lsn: '0/220', durable: '0/220' }])); // 4 events >= 3
    stream.push(begin(0x300), insert('5'), commit(0x310, 0x320));
    await sleep(20);
    expect(stream.confirmed).toHaveLength(1);
    const silentSince = Date.now();
    // The stream stays silent: the age limit commits.
    await eventually(() =>
      expect(stream.confirmed).toEqual([
        { lsn: '0/220', durable: '0/220' },
        { lsn: '0/320', durable: '0/320' },
      ]),
    );
    expect(Date.now() - silentSince).toBeGreaterThan(300);
    controller.abort();
    await done;
  });

  it('skips whole transactions an earlier run wrote, by commit LSN at Begin and by end LSN at Commit', async () => {
    writer.append({ commitLsn: '0/100', xid: 1, commitTimeMs: null, table: { schema: 'app', name: 't' }, op: 'insert', keyColumns: ['id'], columns: ['id', 'v'], newValues: ['1', 'v1'], oldKey: null });
    writer.endTransaction('0/300');
    await writer.commit();
    await writer.close();
    writer = openQueueWriter({ store, queueDir: join(root, 'queue'), stream: 'source-to-target' });

    const { done, controller } = run();
    stream.push(
      begin(0x100, 1), rel(), insert('1'), commit(0x2f0, 0x300), // written before: skipped at Begin
      begin(0x300, 2), insert('X'), commit(0x300, 0x300), // equal commit and end LSNs (YugabyteDB-like) at the durable end: skipped at Commit
      begin(0x300, 3), insert('2'), commit(0x340, 0x350), // new
      keepalive(0x400),
    );
    await eventually(() => expect(stream.confirmed).toHaveLength(3));
    controller.abort();
    const result = await done;
    expect(await events()).toEqual(['1:insert:1@0/100', '2:insert:2@0/300']);
    expect(result.metrics).toMatchObject({ skippedTransactions: 2, transactionsThisRun: 1, eventsThisRun: 1, totalEvents: 2 });
    // The skipped ends (durable from the earlier run) and the new one after its commit.
    expect(stream.confirmed).toEqual([
      { lsn: '0/300', durable: '0/300' },
      { lsn: '0/350', durable: '0/350' },
      { lsn: '0/400', durable: '0/350' },
    ]);
  });

  it('an abort in the middle of a transaction keeps the ended ones and drops the open one', async () => {
    const { done, controller } = run();
    stream.push(begin(0x100), rel(), insert('1'), commit(0x110, 0x120), begin(0x200), insert('2'), insert('3'));
    await eventually(() => expect(writer.nextVsn).toBe(4));
    controller.abort();
    const result = await done;
    expect(result.durable).toEqual({ lastVsn: 1, endLsn: '0/120' });
    expect(stream.confirmed.map((c) => c.lsn)).toEqual(['0/120']);
    expect(await events()).toEqual(['1:insert:1@0/100']);
    expect(writer.nextVsn).toBe(2);
  });

  const stops: [string, StreamItem[], string, Partial<RunCaptureOptions>?][] = [
    ['a TRUNCATE', [x({ tag: 'truncate', relations: [T] })], 'truncate'],
    ['an ADD COLUMN', [rel(relation([['id', true], ['v', false], ['w', false]])), insert('9')], 'schema-changed'],
    ['a renamed table', [rel(relation([['id', true], ['v', false]], 'renamed'))], 'schema-changed'],
    ['a changed key', [rel(relation([['id', false], ['v', true]]))], 'schema-changed'],
    ['an UPDATE without a key', [rel(relation([['id', false], ['v', false]], 'nokey', 99)), update('9', relation([['id', false], ['v', false]], 'nokey', 99))], 'no-replica-identity'],
    ['a streamed transaction', [x({ tag: 'stream-start' })], 'unsupported-stream'],
    ['columns other than expected', [], 'schema-changed', { expectedColumns: () => ['id', 'v', 'extra'] }],
  ];
  for (const [what, offending, reason, options] of stops) {
    it(`stops at ${what} with the open transaction discarded and nothing of it acknowledged`, async () => {
      const { done } = run(options);
      stream.push(begin(0x100), rel(), insert('1'), commit(0x110, 0x120), begin(0x200), insert('2'), ...offending, commit(0x210, 0x220));
      const error = await done.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CaptureStoppedError);
      expect(error).toMatchObject({ reason });
      expect((error as CaptureStoppedError).hint).toBeTruthy();
      expect(stream.stopped).toBe(true);
      const written = await events();
      if (what === 'columns other than expected') {
        // The very first Relation message differs: nothing is written at all.
        expect(written).toEqual([]);
        expect(stream.confirmed).toEqual([]);
      } else {
        expect(written).toEqual(['1:insert:1@0/100']);
        expect(stream.confirmed.map((c) => c.lsn)).toEqual(['0/120']);
      }
      expect(writer.inTransaction).toBe(false);
    });
  }

  it('accepts a Relation message that repeats the same description, and keeps unchanged values apart from NULL', async () => {
    const { done, controller } = run();
    stream.push(begin(0x100), rel(), insert('1'), rel(relation([['id', true], ['v', false]])), update('1'), x({ tag: 'insert', relation: T, newTuple: ['2', null] }), commit(0x110, 0x120));
    await eventually(() => expect(writer.nextVsn).toBe(4));
    controller.abort();
    await done;
    const queued = await readQueue(store, join(root, 'queue'));
    expect(queued.map((e) => e.newValues)).toEqual([
      ['1', 'v1'],
      ['1', UNCHANGED],
      ['2', null],
    ]);
  });
});
