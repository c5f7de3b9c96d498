// Crash-test child for queue-crash.test.ts (run with vite-node): appends transactions of random size
// (empty, small, and large ones that are flushed to the file before they end), now and then discards
// one, commits at random points, and prints `committed <last vsn> <end LSN>` after each commit returned,
// until it is SIGKILLed. Event content is changeFor(vsn); an end LSN is `<last vsn>/<transaction no>`.
// Usage: vite-node queue-crash-child.ts -- <store file> <queue dir> <seed>
import { writeSync } from 'node:fs';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { openStore } from '../../src/state/store.js';
import { changeFor } from './queue-helpers.js';

const [storeFile, queueDir, seedText] = process.argv.slice(2).filter((arg) => arg !== '--');
if (storeFile === undefined || queueDir === undefined) throw new Error('usage: queue-crash-child.ts <store file> <queue dir> <seed>');

/** mulberry32: a small seeded generator, so a failing round can be replayed. */
let seed = Number(seedText ?? 1) >>> 0;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const store = openStore(storeFile);
const writer = openQueueWriter({ store, queueDir, stream: 'source-to-target', segmentBytes: 24 * 1024, writeBufferBytes: 2048 });
const start = writer.durablePoint;
let transactionNo = start.endLsn === null ? 1 : Number(start.endLsn.split('/')[1]) + 1;
writeSync(1, `ready ${start.lastVsn} ${start.endLsn ?? '-'}\n`);

for (;;) {
  const r = random();
  const size = r < 0.05 ? 0 : r < 0.1 ? 100 + Math.floor(random() * 500) : 1 + Math.floor(random() * 20);
  for (let i = 0; i < size; i += 1) writer.append(changeFor(writer.nextVsn));
  if (size > 0 && random() < 0.03) {
    writer.discardTransaction();
    continue;
  }
  writer.endTransaction(`${writer.nextVsn - 1}/${transactionNo}`);
  transactionNo += 1;
  if (random() < 0.4) {
    const point = await writer.commit();
    writeSync(1, `committed ${point.lastVsn} ${point.endLsn ?? '-'}\n`);
  }
}
