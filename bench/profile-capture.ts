// Profiling aid (not part of npm run bench): the exporter's own work per change, without a server.
// Synthetic pgoutput frames of pgbench transactions (an UPDATE of each of accounts, tellers and
// branches, an INSERT into history) are read from an in-memory socket, 64 kB at a time as Node reads
// a real one, by the real ReplicationStream, captured by runCapture into a real queue (temporary
// directory and store). Prints CPU time per event; the changes benchmark mixes this with the
// walsender, the importer and the target sharing two cores, where a 5% change is lost in the noise.
//
//   npx vite-node bench/profile-capture.ts [transactions=64000] [rounds=5]
//   node --cpu-prof node_modules/vite-node/vite-node.mjs bench/profile-capture.ts   (a profile)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { openQueueWriter } from '../src/capture/queue/segment-writer.js';
import { runCapture } from '../src/capture/run-capture.js';
import { ReplicationStream } from '../src/engines/postgres/replication/replication-stream.js';
import { openStore } from '../src/state/store.js';

const TRANSACTIONS = Number(process.argv[2] ?? 64_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const INT4 = 23;
const BPCHAR = 1042;
const TIMESTAMP = 1114;
const INT8 = 20;

const bytes = {
  cstring: (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]),
  u8: (n: number): Buffer => Buffer.from([n]),
  u16: (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]),
  u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  },
  u64(n: bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    return b;
  },
};

/** pgoutput Relation (protocol 1): every column text-typed as the server describes it, the first (or `key`) one the key. */
function relation(id: number, name: string, columns: readonly (readonly [string, number, boolean])[]): Buffer {
  return Buffer.concat([
    Buffer.from('R'),
    bytes.u32(id),
    bytes.cstring('public'),
    bytes.cstring(name),
    Buffer.from('d'),
    bytes.u16(columns.length),
    ...columns.flatMap(([column, type, key]) => [bytes.u8(key ? 1 : 0), bytes.cstring(column), bytes.u32(type), bytes.u32(0xffffffff)]),
  ]);
}

/** TupleData: text values and NULLs. */
function tuple(values: readonly (string | null)[]): Buffer {
  return Buffer.concat([bytes.u16(values.length), ...values.flatMap((v) => (v === null ? [Buffer.from('n')] : [Buffer.from('t'), bytes.u32(Buffer.byteLength(v)), Buffer.from(v)]))]);
}

/** CopyData('w' XLogData header + the pgoutput message). */
function copyData(message: Buffer, lsn: bigint): Buffer {
  const body = Buffer.concat([Buffer.from('w'), bytes.u64(lsn), bytes.u64(lsn), bytes.u64(0n), message]);
  return Buffer.concat([Buffer.from('d'), bytes.u32(4 + body.length), body]);
}

/** The stream's bytes after CopyBothResponse: the relations, then the transactions. */
function pgbenchStream(transactions: number): Buffer {
  const frames: Buffer[] = [];
  let lsn = 0x1000000n;
  frames.push(copyData(relation(1, 'pgbench_accounts', [['aid', INT4, true], ['bid', INT4, false], ['abalance', INT4, false], ['filler', BPCHAR, false]]), lsn));
  frames.push(copyData(relation(2, 'pgbench_tellers', [['tid', INT4, true], ['bid', INT4, false], ['tbalance', INT4, false], ['filler', BPCHAR, false]]), lsn));
  frames.push(copyData(relation(3, 'pgbench_branches', [['bid', INT4, true], ['bbalance', INT4, false], ['filler', BPCHAR, false]]), lsn));
  const history = [['tid', INT4, false], ['bid', INT4, false], ['aid', INT4, false], ['delta', INT4, false], ['mtime', TIMESTAMP, false], ['filler', BPCHAR, false], ['hid', INT8, true]] as const;
  frames.push(copyData(relation(4, 'pgbench_history', history), lsn));
  const filler = ' '.repeat(84);
  for (let t = 0; t < transactions; t++) {
    const aid = String(1 + ((t * 7919) % 1_000_000));
    const tid = String(1 + (t % 100));
    const bid = String(1 + (t % 10));
    const time = bytes.u64(800_000_000_000_000n + BigInt(t));
    const commitLsn = lsn + 1000n;
    const endLsn = lsn + 1100n;
    frames.push(copyData(Buffer.concat([Buffer.from('B'), bytes.u64(commitLsn), time, bytes.u32(5000 + t)]), lsn));
    frames.push(copyData(Buffer.concat([Buffer.from('U'), bytes.u32(1), Buffer.from('N'), tuple([aid, bid, String(t % 5000), filler])]), lsn));
    frames.push(copyData(Buffer.concat([Buffer.from('U'), bytes.u32(2), Buffer.from('N'), tuple([tid, bid, String(t * 3), null])]), lsn));
    frames.push(copyData(Buffer.concat([Buffer.from('U'), bytes.u32(3), Buffer.from('N'), tuple([bid, String(t * 7), null])]), lsn));
    frames.push(copyData(Buffer.concat([Buffer.from('I'), bytes.u32(4), Buffer.from('N'), tuple([tid, bid, aid, String((t % 10_000) - 5000), '2026-12-02 16:20:11.123456', null, String(t + 1)])]), lsn));
    frames.push(copyData(Buffer.concat([Buffer.from('C'), bytes.u8(0), bytes.u64(commitLsn), bytes.u64(endLsn), time]), lsn));
    lsn = endLsn;
  }
  return Buffer.concat(frames);
}

const COPY_BOTH_RESPONSE = Buffer.from([0x57, 0, 0, 0, 7, 0, 0, 0]);
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

const stream = pgbenchStream(TRANSACTIONS);
const chunks: Buffer[] = [];
// PROFILE_CHUNK_BYTES (default 65536): the size of each read; PROFILE_CHUNK_DELAY_MS: each chunk only
// arrives that long after the reader asked (0: on the next turn of the event loop), as a walsender's
// output does when the exporter keeps up with it: many small reads instead of a backlog's big ones.
// PROFILE_MARKS=1 prints when each round starts (ms since the process began), to window a --cpu-prof.
const CHUNK = Number(process.env.PROFILE_CHUNK_BYTES ?? 65_536);
const DELAY = process.env.PROFILE_CHUNK_DELAY_MS === undefined ? undefined : Number(process.env.PROFILE_CHUNK_DELAY_MS);
for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.subarray(at, Math.min(stream.length, at + CHUNK)));
process.stdout.write(`${TRANSACTIONS} pgbench transactions, ${(stream.length / 1e6).toFixed(1)} MB of frames\n`);

const perEvent: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const root = mkdtempSync(join(tmpdir(), 'godwit-profile-capture-'));
  const queueDir = join(root, 'data', 'queue');
  mkdirSync(queueDir, { recursive: true });
  const store = openStore(join(root, 'godwit.db'));
  const queue = openQueueWriter({ store, queueDir, stream: 'source-to-target' });
  const replication = new ReplicationStream('START_REPLICATION', 'profile', { statusIntervalMs: 10_000, receiveTimeoutMs: 0 });
  const query = replication.submittable;
  let next = 0;
  let streaming = false;
  const socket = new Duplex({
    highWaterMark: 16_384,
    // Pulled like a socket: a chunk each time the reader wants more, then CopyDone and ReadyForQuery.
    read() {
      if (!streaming) return;
      if (next < chunks.length && DELAY !== undefined) {
        const chunk = chunks[next++];
        if (DELAY === 0) setImmediate(() => this.push(chunk));
        else setTimeout(() => this.push(chunk), DELAY);
      } else if (next < chunks.length) this.push(chunks[next++]);
      else if (next++ === chunks.length) {
        this.push(COPY_DONE);
        setImmediate(() => query.handleReadyForQuery());
      }
    },
    // Standby status updates go nowhere.
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  socket.on('data', () => undefined); // the one listener pg would have; the query takes the socket from it
  query.submit({ stream: socket, query: () => undefined } as never);
  streaming = true;
  socket.push(COPY_BOTH_RESPONSE);
  if (process.env.PROFILE_MARKS !== undefined) process.stderr.write(`round ${round} starts at ${performance.now().toFixed(0)} ms\n`);
  const cpuBefore = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  // The stream's end (CopyDone) is a lost connection to the capture: what the queue holds is the result.
  await runCapture({ stream: replication, queue }).catch((error: { reason?: string }) => {
    if (error.reason !== 'connection-lost') throw error;
  });
  const cpu = process.cpuUsage(cpuBefore);
  const ms = Number(process.hrtime.bigint() - startedAt) / 1e6;
  const events = queue.durablePoint.lastVsn;
  await queue.close();
  store.close();
  rmSync(root, { recursive: true, force: true });
  const cpuMs = (cpu.user + cpu.system) / 1000;
  perEvent.push((cpuMs * 1e6) / events);
  process.stdout.write(`round ${round}: ${events} events in ${ms.toFixed(0)} ms, CPU ${cpuMs.toFixed(0)} ms (system ${(cpu.system / 1000).toFixed(0)}), ${((cpuMs * 1e6) / events).toFixed(0)} ns per event\n`);
}
// The first rounds include compiling; the host's speed drifts: the lowest and the median of the later ones.
const later = perEvent.slice(Math.min(2, perEvent.length - 1)).sort((a, b) => a - b);
process.stdout.write(`ns per event after round 2: lowest ${later[0]?.toFixed(0)}, median ${later[Math.floor(later.length / 2)]?.toFixed(0)}\n`);
