// Every kind of value survives the queue exactly: NULL and UNCHANGED stay distinct, text is
// byte-for-byte (Unicode, escapes, bytea hex), huge values pass whole, and every operation kind and
// odd name comes back as it went in.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { UNCHANGED, isUnchanged, type ChangeEvent, type ChangeInput } from '../../src/core/change-event.js';
import { getQueueStreamHead, listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { queuePlace, type QueuePlace } from './queue-helpers.js';

const base = { commitLsn: '0/16B3748', xid: 731, commitTimeMs: 1_735_689_600_123 };

/** Every value kind and operation the pipeline produces. */
function sampleChanges(huge: string): ChangeInput[] {
  return [
    {
      ...base,
      table: { schema: 'public', name: 'kinds' },
      op: 'insert',
      keyColumns: ['id'],
      columns: ['id', 'nothing', 'empty', 'zero', 'word_null', 'word_unchanged', 'json', 'bytes', 'array'],
      newValues: ['1', null, '', '0', 'null', 'UNCHANGED', '{"a": [1, null, "x\\"y"]}', '\\x00ff10deadbeef00', '{NULL,"a,b","c\\"d"}'],
      oldKey: null,
    },
    {
      ...base,
      table: { schema: 'public', name: 'kinds' },
      op: 'update',
      keyColumns: ['id'],
      columns: ['id', 'nothing', 'toasted', 'also_toasted'],
      newValues: ['2', null, UNCHANGED, UNCHANGED],
      oldKey: ['1'],
    },
    {
      ...base,
      table: { schema: 'Sales Data', name: 'Ünïcødé "table" ✈' },
      op: 'update',
      keyColumns: ['Kéy', 'second key'],
      columns: ['Kéy', 'second key', 'text'],
      newValues: ['日本語', 'a\u0000b', 'emoji 🐦‍⬛ surrogate \ud83d\ude00, RTL \u05e9\u05dc\u05d5\u05dd, combining e\u0301, tab\tnewline\n\r\\ quote"'],
      oldKey: [UNCHANGED, null],
    },
    { ...base, table: { schema: 'public', name: 'kinds' }, op: 'delete', keyColumns: ['id'], columns: [], newValues: null, oldKey: ['2'] },
    { ...base, table: { schema: 'public', name: 'huge' }, op: 'insert', keyColumns: ['id'], columns: ['id', 'body'], newValues: ['9', huge], oldKey: null },
    { ...base, commitTimeMs: null, table: { schema: 'public', name: 'kinds' }, op: 'truncate', keyColumns: [], columns: [], newValues: null, oldKey: null },
    {
      ...base,
      table: { schema: 'godwit_metadata', name: 'cutover_markers' },
      op: 'marker',
      keyColumns: ['marker_id'],
      columns: ['marker_id', 'direction'],
      newValues: ['5b1c', 'to-target'],
      oldKey: null,
    },
    { ...base, xid: 4_294_967_295, table: { schema: 's', name: 't' }, op: 'insert', keyColumns: ['k'], columns: ['k'], newValues: ['x'.repeat(70_000)], oldKey: null },
  ];
}

describe('change queue round trip', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('roundtrip');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  it('returns every value kind exactly, NULL and UNCHANGED distinct', async () => {
    // 24 MiB of text: larger than the write buffer and the read buffer, so both take their large-record path.
    const huge = `start ${'ø'.repeat(12 * 1024 * 1024)} end`;
    const changes = sampleChanges(huge);
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'target-to-source', writeBufferBytes: 64 * 1024 });
    const vsns = changes.map((change) => writer.append(change));
    writer.endTransaction('0/16B3780');
    expect(vsns).toEqual(changes.map((_, i) => i + 1));
    expect(await writer.commit()).toEqual({ lastVsn: changes.length, endLsn: '0/16B3780' });
    await writer.close();

    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'target-to-source', readBufferBytes: 64 * 1024 });
    const events = await reader.read(100);
    reader.close();
    expect(events).toHaveLength(changes.length);
    events.forEach((event, i) => {
      expect(event).toEqual({ ...changes[i], vsn: i + 1, stream: 'target-to-source' });
    });
    const [kinds, toasted, unicode] = events as [ChangeEvent, ChangeEvent, ChangeEvent];
    expect(kinds.newValues?.[1]).toBeNull();
    expect(kinds.newValues?.[4]).toBe('null');
    expect(isUnchanged(kinds.newValues?.[5] ?? null)).toBe(false);
    expect(toasted.newValues?.[1]).toBeNull();
    expect(toasted.newValues?.[2]).toBe(UNCHANGED);
    expect(isUnchanged(toasted.newValues?.[3] ?? null)).toBe(true);
    expect(unicode.oldKey).toEqual([UNCHANGED, null]);
    expect(events[4]?.newValues?.[1]).toBe(huge);
    expect(events[4]?.newValues?.[1]).toHaveLength(huge.length);

    const segments = listQueueSegments(store, 'target-to-source');
    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatchObject({ eventCount: changes.length, firstVsn: 1, lastVsn: changes.length, lastEndLsn: '0/16B3780', closedAt: null });
    const file = join(place.queueDir, segments[0]?.fileName ?? '');
    expect(statSync(file).size).toBe(segments[0]?.committedSize);
    expect(readdirSync(place.queueDir)).toEqual(['target-to-source.0000000001.seg']);
    expect(getQueueStreamHead(store, 'source-to-target')).toMatchObject({ lastVsn: 0, lastEndLsn: null });
  });

  it('refuses an unknown operation instead of writing an event no reader could decode', () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    const bad = { ...base, table: { schema: 's', name: 't' }, op: 'upsert', keyColumns: [], columns: [], newValues: null, oldKey: null } as unknown as ChangeInput;
    expect(() => writer.append(bad)).toThrow(/operation/);
    void writer.close();
  });
});
