// Walks the blocks and records of a version-3 segment file's committed part, checking each block's
// CRC-32 independently of the reader (zlib directly), so tests can find offsets and prove layouts.
import { crc32 } from 'node:zlib';
import { BLOCK_HEADER_SIZE, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE } from '../../src/capture/queue/segment-format.js';

/** One record of a block: its file offset and vsn. */
export interface RecordLayout {
  offset: number;
  vsn: number;
}

/** One block of a segment: its file offset, body length, whether its checksum matches, its records. */
export interface BlockLayout {
  offset: number;
  bodyBytes: number;
  checksumMatches: boolean;
  records: RecordLayout[];
}

/** The blocks of `bytes` (a whole segment file) up to `committedSize`; throws when a block runs past it. */
export function segmentBlocks(bytes: Buffer, committedSize: number): BlockLayout[] {
  const blocks: BlockLayout[] = [];
  let offset = SEGMENT_HEADER_SIZE;
  while (offset < committedSize) {
    const bodyBytes = bytes.readUInt32LE(offset + 4);
    const end = offset + BLOCK_HEADER_SIZE + bodyBytes;
    if (end > committedSize) throw new Error(`the block at ${offset} ends at ${end}, past the committed size ${committedSize}`);
    const checksumMatches = crc32(bytes.subarray(offset + 4, end)) === bytes.readUInt32LE(offset);
    const records: RecordLayout[] = [];
    for (let at = offset + BLOCK_HEADER_SIZE; at < end; at += RECORD_HEADER_SIZE + bytes.readUInt32LE(at)) {
      records.push({ offset: at, vsn: bytes.readUInt32LE(at + 8) * 0x1_0000_0000 + bytes.readUInt32LE(at + 4) });
    }
    blocks.push({ offset, bodyBytes, checksumMatches, records });
    offset = end;
  }
  return blocks;
}
