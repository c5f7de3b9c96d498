// Checks a batch's bytes against its row index while they stream to the target: a Transform that
// computes the CRC-32 of each segment as it passes and fails the stream at the first segment whose
// CRC or length differs. A failed stream aborts the COPY, so the batch's transaction never commits:
// a damaged file cannot leave damaged rows behind.

import { Transform, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import { damagedChunk } from '../chunk-index.js';

/** A pass-through that verifies `segments` ([bytes, crc32] in order) over the bytes that pass. */
export class SegmentVerifier extends Transform {
  private segment = 0;
  private inSegment = 0;
  private crc = 0;
  /** Byte offset in the file of the first byte that passes, for the error message. */
  private offset: number;

  constructor(
    private readonly segments: readonly [number, number][],
    startOffset: number,
    private readonly displayName: string,
  ) {
    super();
    this.offset = startOffset;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let at = 0;
    while (at < chunk.length) {
      const expected = this.segments[this.segment];
      if (expected === undefined) {
        callback(damagedChunk({ displayName: this.displayName }, `it holds more bytes at offset ${this.offset + at} than its row index counts`));
        return;
      }
      const take = Math.min(expected[0] - this.inSegment, chunk.length - at);
      this.crc = crc32(chunk.subarray(at, at + take), this.crc);
      this.inSegment += take;
      at += take;
      if (this.inSegment === expected[0]) {
        if (this.crc >>> 0 !== expected[1] >>> 0) {
          const start = this.offset + at - this.inSegment;
          callback(damagedChunk({ displayName: this.displayName }, `the ${this.inSegment} bytes at offset ${start} do not have the CRC-32 its row index recorded`));
          return;
        }
        this.segment++;
        this.inSegment = 0;
        this.crc = 0;
      }
    }
    this.offset += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.segment !== this.segments.length) {
      callback(damagedChunk({ displayName: this.displayName }, `it ends at offset ${this.offset}, before the end its row index records`));
      return;
    }
    callback();
  }
}
