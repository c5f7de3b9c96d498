// A damaged committed record is reported, never skipped or misread: a flipped byte anywhere in a
// record (payload, vsn, length), a file cut short, a bad header, a missing file. The error is a
// QueueDamagedError naming the file and the byte offset of the record.
import { openSync, readFileSync, closeSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueDamagedError } from '../../src/capture/queue/queue-errors.js';
import { RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE, recordPayloadLength } from '../../src/capture/queue/segment-format.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { ExitCode } from '../../src/core/errors.js';
import { listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, queuePlace, type QueuePlace } from './queue-helpers.js';

/** Offsets of every record in a segment file, walking the frames. */
function recordOffsets(file: string, committedSize: number): number[] {
  const bytes = readFileSync(file);
  const offsets: number[] = [];
  for (let offset = SEGMENT_HEADER_SIZE; offset < committedSize; offset += RECORD_HEADER_SIZE + recordPayloadLength(bytes, offset)) offsets.push(offset);
  return offsets;
}

function flipByte(file: string, position: number): void {
  const fd = openSync(file, 'r+');
  const original = readFileSync(file)[position] ?? 0;
  writeSync(fd, Buffer.from([original ^ 0x20]), 0, 1, position);
  closeSync(fd);
}

describe('damaged change queue segments', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  let file: string;
  let offsets: number[];
  beforeEach(async () => {
    place = queuePlace('damage');
    store = place.openStore();
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    for (let vsn = 1; vsn <= 20; vsn += 1) writer.append(changeFor(vsn));
    writer.endTransaction('0/14');
    await writer.commit();
    await writer.close();
    const [segment] = listQueueSegments(store, 'source-to-target');
    file = join(place.queueDir, segment?.fileName ?? '');
    offsets = recordOffsets(file, segment?.committedSize ?? 0);
    expect(offsets).toHaveLength(20);
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  async function readFailure(fromVsn = 1): Promise<QueueDamagedError> {
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn });
    try {
      for (let got = await reader.read(3); got.length > 0; got = await reader.read(3)) {
        // keep reading until the damage
      }
    } catch (error) {
      expect(error).toBeInstanceOf(QueueDamagedError);
      return error as QueueDamagedError;
    } finally {
      reader.close();
    }
    throw new Error('the damage was not detected');
  }

  it('reports a flipped payload byte with the file and the record offset', async () => {
    const record = offsets[12] ?? 0;
    flipByte(file, record + RECORD_HEADER_SIZE + 7);
    const error = await readFailure();
    expect(error.damage).toBe('checksum-mismatch');
    expect(error.file).toBe(file);
    expect(error.offset).toBe(record);
    expect(error.message).toContain(file);
    expect(error.message).toContain(`byte offset ${record}`);
    expect(error.exitCode).toBe(ExitCode.state);
    expect(error.hint).toMatch(/backup|again/);
    // Events before the damage were returned; a reader starting past it still meets it when it is in
    // the part it must scan.
    expect((await readFailure(14)).offset).toBe(record);
  });

  it('reports a flipped vsn or checksum byte', async () => {
    flipByte(file, (offsets[3] ?? 0) + 9);
    expect(await readFailure()).toMatchObject({ damage: 'checksum-mismatch', offset: offsets[3] });
    flipByte(file, (offsets[3] ?? 0) + 9);
    flipByte(file, offsets[5] ?? 0);
    expect(await readFailure()).toMatchObject({ damage: 'checksum-mismatch', offset: offsets[5] });
  });

  it('reports a length that runs past the committed size', async () => {
    const record = offsets[19] ?? 0;
    flipByte(file, record + 4 + 2); // the length's third byte: +2 MiB
    expect(await readFailure()).toMatchObject({ damage: 'bad-length', offset: record });
  });

  it('reports a file cut short inside its committed part', async () => {
    truncateSync(file, (offsets[10] ?? 0) + 5);
    const error = await readFailure();
    expect(error.damage).toBe('file-too-short');
    expect(error.message).toContain(file);
    // The writer refuses to continue such a segment rather than overwrite the evidence.
    expect(() => openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' })).toThrow(QueueDamagedError);
  });

  it('reports a bad header and a missing file', async () => {
    flipByte(file, 2);
    expect(await readFailure()).toMatchObject({ damage: 'bad-header', offset: 0 });
    rmSync(file);
    expect(await readFailure()).toMatchObject({ damage: 'file-missing' });
    expect(() => openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' })).toThrow(/missing/);
  });
});
