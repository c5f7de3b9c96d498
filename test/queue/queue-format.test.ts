// The queue's payload format: version 2 (binary) round-trips every kind of value exactly, shares the
// names of a table shape between events, and a record whose checksum matches but whose payload is not
// an event is reported as damaged; segments of versions 1 (JSON) and 2 (binary payloads, checksummed
// records), written by an earlier godwit, are still read, and the writer continues the queue in a new
// version-3 segment (checksummed blocks) instead of appending to them.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeChangeV1 } from '../../src/capture/queue/event-codec-v1.js';
import { ChangeEncoder } from '../../src/capture/queue/event-codec.js';
import { ChangeDecoder } from '../../src/capture/queue/event-decoder.js';
import { QueueDamagedError } from '../../src/capture/queue/queue-errors.js';
import {
  CHECKED_RECORD_HEADER_SIZE,
  RECORD_HEADER_SIZE,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_SIZE,
  SEGMENT_MAGIC,
  checksum,
  segmentFileName,
  writeBlockHeader,
  writeCheckedRecord,
} from '../../src/capture/queue/segment-format.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { UNCHANGED, type ChangeEvent, type ChangeInput } from '../../src/core/change-event.js';
import { listQueueSegments, recordQueueCommit } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, expectedEvent, queuePlace, type QueuePlace } from './queue-helpers.js';
import { segmentBlocks } from './segment-layout.js';

function roundTrip(change: ChangeInput, decoder = new ChangeDecoder()): ChangeEvent {
  const encoder = new ChangeEncoder();
  const length = encoder.encode(change);
  // Decode from the middle of a bigger buffer, as the reader does.
  const buffer = Buffer.alloc(length + 20, 0xab);
  encoder.bytes.copy(buffer, 7, 0, length);
  return decoder.decode(buffer, 7, 7 + length, 42, 'target-to-source');
}

const base = { commitLsn: '16/B374D848', xid: 4_000_000_000, commitTimeMs: 1_735_689_600_123 };

describe('queue payload format version 2', () => {
  it('round-trips values at every length boundary, in ASCII and UTF-8, with NULL and UNCHANGED distinct', () => {
    const texts = [
      '',
      'x',
      'a'.repeat(125),
      'a'.repeat(126),
      'é'.repeat(62), // 124 bytes: short
      'é'.repeat(63), // 126 bytes once encoded: long
      'é'.repeat(125), // 125 characters, 250 bytes
      '✈'.repeat(50),
      '🐦‍⬛'.repeat(40),
      'a\u0000b\\c"d\'e\n',
      'z'.repeat(100_000),
      'ü'.repeat(70_000),
    ];
    const change: ChangeInput = {
      ...base,
      table: { schema: 'Sales Data', name: 'Ünïcødé "table" ✈' },
      op: 'update',
      keyColumns: ['Kéy'],
      columns: texts.map((_, i) => `c${i}`).concat(['n', 'u']),
      newValues: [...texts, null, UNCHANGED],
      oldKey: [UNCHANGED],
    };
    expect(roundTrip(change)).toEqual({ ...change, vsn: 42, stream: 'target-to-source' });
    for (const op of ['insert', 'delete', 'truncate', 'marker'] as const) {
      const other: ChangeInput = { ...change, op, commitTimeMs: null, newValues: null, oldKey: op === 'delete' ? ['1'] : null };
      expect(roundTrip(other)).toEqual({ ...other, vsn: 42, stream: 'target-to-source' });
    }
  });

  it('gives events of one table shape the same name objects, and keeps decoding past its shape cache', () => {
    const decoder = new ChangeDecoder();
    const shape = { table: { schema: 'public', name: 'accounts' }, keyColumns: ['aid'], columns: ['aid', 'abalance'] };
    const a = roundTrip({ ...base, ...shape, op: 'update', newValues: ['1', '5'], oldKey: null }, decoder);
    const b = roundTrip({ ...base, ...shape, commitLsn: '16/B374D900', op: 'insert', newValues: ['2', '6'], oldKey: null }, decoder);
    expect(b.table).toBe(a.table);
    expect(b.columns).toBe(a.columns);
    expect(b.keyColumns).toBe(a.keyColumns);
    expect(b.commitLsn).toBe('16/B374D900');
    for (let i = 0; i < 600; i++) {
      const change: ChangeInput = { ...base, table: { schema: 's', name: `t${i}` }, op: 'insert', keyColumns: ['id'], columns: ['id'], newValues: [String(i)], oldKey: null };
      expect(roundTrip(change, decoder)).toEqual({ ...change, vsn: 42, stream: 'target-to-source' });
    }
  });

  it('refuses payloads that are not an event', () => {
    const encoder = new ChangeEncoder();
    const length = encoder.encode(changeFor(3));
    const bytes = Buffer.from(encoder.bytes.subarray(0, length));
    const decoder = new ChangeDecoder();
    expect(() => decoder.decode(bytes, 0, length - 1, 1, 'source-to-target')).toThrow(/too early/);
    expect(() => decoder.decode(Buffer.concat([bytes, Buffer.from([0])]), 0, length + 1, 1, 'source-to-target')).toThrow(/follow/);
    const badOp = Buffer.from(bytes);
    badOp[0] = 0x51;
    expect(() => decoder.decode(badOp, 0, length, 1, 'source-to-target')).toThrow(/operation/);
  });
});

describe('record checksums', () => {
  it('are zlib CRC-32 for every record size (small ones are computed in JavaScript)', () => {
    const bytes = Buffer.alloc(400);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    for (let start = 0; start < 5; start++) {
      for (let end = start; end <= 300; end++) expect(checksum(bytes, start, end)).toBe(crc32(bytes.subarray(start, end)));
    }
  });
});

describe('queue segments across format versions', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('format');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  async function readAll(fromVsn = 1): Promise<ChangeEvent[]> {
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn });
    const events: ChangeEvent[] = [];
    try {
      for (let got = await reader.read(7); got.length > 0; got = await reader.read(7)) events.push(...got);
    } finally {
      reader.close();
    }
    return events;
  }

  /** Segment 1 as an earlier godwit wrote it: a version 1 (JSON) or 2 (binary) header and records checksummed one by one; recorded as open. */
  function writeOldSegment(version: 1 | 2, lastVsn: number): void {
    const header = Buffer.alloc(SEGMENT_HEADER_SIZE);
    SEGMENT_MAGIC.copy(header, 0);
    header.writeUInt16LE(version, 8);
    header.writeUInt32LE(1, 12);
    const records = [header];
    const encoder = new ChangeEncoder();
    for (let vsn = 1; vsn <= lastVsn; vsn++) {
      const length = version === 1 ? 0 : encoder.encode(changeFor(vsn));
      const payload = version === 1 ? Buffer.from(encodeChangeV1(changeFor(vsn)), 'utf8') : Buffer.from(encoder.bytes.subarray(0, length));
      const record = Buffer.alloc(CHECKED_RECORD_HEADER_SIZE + payload.length);
      writeCheckedRecord(record, 0, vsn, payload, payload.length);
      records.push(record);
    }
    const bytes = Buffer.concat(records);
    const fileName = segmentFileName('source-to-target', 1);
    writeFileSync(join(place.queueDir, fileName), bytes);
    recordQueueCommit(
      store,
      'source-to-target',
      [{ segmentNo: 1, fileName, committedSize: bytes.length, eventCount: lastVsn, firstVsn: 1, lastVsn, lastEndLsn: '0/A', closed: false }],
      { lastVsn, lastEndLsn: '0/A' },
    );
  }

  it('frames old records as earlier godwits did (CRC-32 over length, vsn and payload)', () => {
    const payload = Buffer.from('{"x":1}');
    const record = Buffer.alloc(CHECKED_RECORD_HEADER_SIZE + payload.length);
    writeCheckedRecord(record, 0, 7, payload, payload.length);
    expect(record.readUInt32LE(4)).toBe(payload.length);
    expect(record.readUInt32LE(8)).toBe(7);
    expect(record.readUInt32LE(0)).toBe(crc32(record.subarray(4)));
  });

  for (const version of [1, 2] as const) {
    it(`reads a version-${version} segment and continues the queue in a new version-${SEGMENT_FORMAT_VERSION} segment`, async () => {
      writeOldSegment(version, 10);
      expect(await readAll()).toEqual(Array.from({ length: 10 }, (_, i) => expectedEvent(i + 1)));
      const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
      expect(writer.durablePoint).toEqual({ lastVsn: 10, endLsn: '0/A' });
      for (let vsn = 11; vsn <= 25; vsn++) writer.append(changeFor(vsn));
      writer.endTransaction('0/B');
      await writer.commit();
      await writer.close();
      const segments = listQueueSegments(store, 'source-to-target');
      expect(segments.map((s) => [s.segmentNo, s.firstVsn, s.lastVsn, s.closedAt !== null])).toEqual([
        [1, 1, 10, true],
        [2, 11, 25, false],
      ]);
      const second = readFileSync(join(place.queueDir, segments[1]?.fileName ?? ''));
      expect(second.readUInt16LE(8)).toBe(SEGMENT_FORMAT_VERSION);
      expect(await readAll()).toEqual(Array.from({ length: 25 }, (_, i) => expectedEvent(i + 1)));
      expect(await readAll(8)).toEqual(Array.from({ length: 18 }, (_, i) => expectedEvent(i + 8)));
    });
  }

  it('refuses a segment of an unknown format version, naming it', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    writer.append(changeFor(1));
    writer.endTransaction('0/1');
    await writer.commit();
    await writer.close();
    const file = join(place.queueDir, listQueueSegments(store, 'source-to-target')[0]?.fileName ?? '');
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([9, 0]), 0, 2, 8);
    closeSync(fd);
    const error = await readAll().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDamagedError);
    expect(error).toMatchObject({ damage: 'bad-header', offset: 0 });
    expect((error as Error).message).toMatch(/format version 9, this godwit reads versions 1, 2 and 3/);
  });

  it('reports a record whose checksum matches but whose payload is no event', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    for (let vsn = 1; vsn <= 5; vsn++) writer.append(changeFor(vsn));
    writer.endTransaction('0/1');
    await writer.commit();
    await writer.close();
    const file = join(place.queueDir, listQueueSegments(store, 'source-to-target')[0]?.fileName ?? '');
    const bytes = readFileSync(file);
    const [block] = segmentBlocks(bytes, bytes.length);
    const offset = block?.records[3]?.offset ?? 0;
    // Record of vsn 4: a wrong operation code, with the block's checksum made to match.
    bytes[offset + RECORD_HEADER_SIZE] = 0x51;
    writeBlockHeader(bytes, block?.offset ?? 0, block?.bodyBytes ?? 0);
    writeFileSync(file, bytes);
    const error = await readAll().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDamagedError);
    expect(error).toMatchObject({ damage: 'bad-payload', offset, file });
    expect((error as Error).message).toMatch(/vsn 4 does not decode \(unknown operation code 81\)/);
  });
});
