// A damaged committed block is reported, never skipped or misread: a flipped byte anywhere in a block
// (a record's payload, vsn or length, the block's checksum or length), a record length or vsn that is
// wrong under a matching checksum, a file cut short, a bad header, a missing file. The error is a
// QueueDamagedError naming the file and the byte offset of the block (or of the record, when the
// block's checksum matched).
import { openSync, readFileSync, closeSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueDamagedError } from '../../src/capture/queue/queue-errors.js';
import { RECORD_HEADER_SIZE, writeBlockHeader } from '../../src/capture/queue/segment-format.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { ExitCode } from '../../src/core/errors.js';
import { listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, queuePlace, type QueuePlace } from './queue-helpers.js';
import { segmentBlocks, type BlockLayout } from './segment-layout.js';

function flipByte(file: string, position: number): void {
  const fd = openSync(file, 'r+');
  const original = readFileSync(file)[position] ?? 0;
  writeSync(fd, Buffer.from([original ^ 0x20]), 0, 1, position);
  closeSync(fd);
}

/** Changes bytes of `block` with `edit`, then gives the block a matching checksum again. */
function editUnderChecksum(file: string, block: BlockLayout, edit: (bytes: Buffer) => void): void {
  const bytes = readFileSync(file);
  edit(bytes);
  writeBlockHeader(bytes, block.offset, block.bodyBytes);
  writeFileSync(file, bytes);
}

describe('damaged change queue segments', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  let file: string;
  let blocks: BlockLayout[];
  beforeEach(async () => {
    place = queuePlace('damage');
    store = place.openStore();
    // A small write buffer: the 20 events land in several blocks.
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 400 });
    for (let vsn = 1; vsn <= 20; vsn += 1) {
      writer.append(changeFor(vsn));
      if (vsn % 2 === 0) writer.endTransaction(`0/${vsn}`);
    }
    await writer.commit();
    await writer.close();
    const [segment] = listQueueSegments(store, 'source-to-target');
    file = join(place.queueDir, segment?.fileName ?? '');
    blocks = segmentBlocks(readFileSync(file), segment?.committedSize ?? 0);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.flatMap((block) => block.records.map((record) => record.vsn))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  /** Reads from `fromVsn` until the damage; returns it and the vsns returned before it. */
  async function readFailure(fromVsn = 1): Promise<QueueDamagedError & { before: number[] }> {
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn });
    const before: number[] = [];
    try {
      for (let got = await reader.read(3); got.length > 0; got = await reader.read(3)) before.push(...got.map((event) => event.vsn));
    } catch (error) {
      expect(error).toBeInstanceOf(QueueDamagedError);
      return Object.assign(error as QueueDamagedError, { before });
    } finally {
      reader.close();
    }
    throw new Error('the damage was not detected');
  }

  /** The block holding the event of `vsn`. */
  function blockOf(vsn: number): BlockLayout {
    const block = blocks.find((candidate) => candidate.records.some((record) => record.vsn === vsn));
    if (block === undefined) throw new Error(`no block holds vsn ${vsn}`);
    return block;
  }

  it('reports a flipped payload byte with the file and the offset of its block', async () => {
    const block = blockOf(13);
    const record = block.records.find((candidate) => candidate.vsn === 13);
    flipByte(file, (record?.offset ?? 0) + RECORD_HEADER_SIZE + 7);
    const error = await readFailure();
    expect(error.damage).toBe('checksum-mismatch');
    expect(error.file).toBe(file);
    expect(error.offset).toBe(block.offset);
    expect(error.message).toContain(file);
    expect(error.message).toContain(`byte offset ${block.offset}`);
    expect(error.exitCode).toBe(ExitCode.state);
    expect(error.hint).toMatch(/backup|again/);
    // Events before the damaged block were returned (up to the read call that met it), none of it or after it.
    const firstDamaged = block.records[0]?.vsn ?? 0;
    expect(error.before).toEqual(Array.from({ length: error.before.length }, (_, i) => i + 1));
    expect(error.before.length).toBeGreaterThanOrEqual(firstDamaged - 3);
    expect(error.before.length).toBeLessThan(firstDamaged);
    // A reader starting past it still meets it when it is in the part it must scan.
    expect((await readFailure(19)).offset).toBe(block.offset);
  });

  it('reports a flipped vsn, checksum or block length byte', async () => {
    const block = blocks[1] as BlockLayout;
    const record = block.records[1];
    flipByte(file, (record?.offset ?? 0) + 5);
    expect(await readFailure()).toMatchObject({ damage: 'checksum-mismatch', offset: block.offset });
    flipByte(file, (record?.offset ?? 0) + 5);
    flipByte(file, block.offset);
    expect(await readFailure()).toMatchObject({ damage: 'checksum-mismatch', offset: block.offset });
    flipByte(file, block.offset);
    flipByte(file, block.offset + 4);
    expect(await readFailure()).toMatchObject({ damage: 'checksum-mismatch', offset: block.offset });
  });

  it('reports a block length that runs past the committed size', async () => {
    const block = blocks[blocks.length - 1] as BlockLayout;
    flipByte(file, block.offset + 4 + 2); // the length's third byte: +2 MiB
    expect(await readFailure()).toMatchObject({ damage: 'bad-length', offset: block.offset });
  });

  it('reports a record length or vsn that is wrong under a matching block checksum', async () => {
    const block = blocks[2] as BlockLayout;
    const record = block.records[0];
    const offset = record?.offset ?? 0;
    editUnderChecksum(file, block, (bytes) => bytes.writeUInt32LE(bytes.readUInt32LE(offset) + block.bodyBytes, offset));
    expect(await readFailure()).toMatchObject({ damage: 'bad-length', offset });
    editUnderChecksum(file, block, (bytes) => bytes.writeUInt32LE(bytes.readUInt32LE(offset) - block.bodyBytes, offset));
    editUnderChecksum(file, block, (bytes) => bytes.writeUInt32LE(bytes.readUInt32LE(offset + 4) + 1, offset + 4));
    expect(await readFailure()).toMatchObject({ damage: 'unexpected-vsn', offset });
  });

  it('reports a file cut short inside its committed part', async () => {
    truncateSync(file, (blocks[2]?.offset ?? 0) + 5);
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
