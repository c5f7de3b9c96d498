// A cursor over one protocol message: big-endian integers, 64-bit positions as bigint, C strings and
// counted byte strings, each read checked against the end so that a short or corrupt message fails
// with a clear ProtocolError instead of reading garbage.

import { ReplicationError } from './replication-errors.js';

/** Reads one binary message front to back. */
export class BufferReader {
  private offset: number;
  /** Where the message ends in `buffer` (a message may sit inside a bigger network buffer). */
  private end: number;

  constructor(
    private buffer: Buffer,
    start = 0,
    private readonly what = 'replication message',
  ) {
    this.offset = start;
    this.end = buffer.length;
  }

  /** Reads another message, [start, end) of `buffer`, with this reader (the decoder keeps one instead of one per message). */
  reset(buffer: Buffer, start: number, end = buffer.length): this {
    this.buffer = buffer;
    this.offset = start;
    this.end = end;
    return this;
  }

  /** Where the message ends in {@link source}. */
  get limit(): number {
    return this.end;
  }

  /** The message and the read position, for a decoder that scans a run of fields itself (then calls seek). */
  get source(): Buffer {
    return this.buffer;
  }

  get position(): number {
    return this.offset;
  }

  /** Moves the read position to `offset` of the message (after a scan of the fields before it). */
  seek(offset: number): void {
    if (offset < 0 || offset > this.end) throw this.truncated(`a position ${offset} outside the message`);
    this.offset = offset;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.end - this.offset;
  }

  /** Reads one unsigned byte. */
  uint8(): number {
    this.need(1);
    return this.buffer[this.offset++] as number;
  }

  /** Reads a signed 16-bit integer. */
  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  /** Reads a signed 32-bit integer (type modifiers, lengths). */
  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** Reads an unsigned 32-bit integer (OIDs, transaction ids). */
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** Reads an unsigned 64-bit integer (LSNs). */
  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Reads a signed 64-bit integer (timestamps). */
  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  /** Reads a NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0 || end >= this.end) throw this.truncated('a string without its terminator');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }

  /** Reads `length` bytes as UTF-8 text. */
  text(length: number): string {
    this.need(length);
    // utf8Slice is what toString('utf8', ...) calls after its argument checks (done by need()).
    const buffer = this.buffer as Buffer & { utf8Slice?(start: number, end: number): string };
    const value = buffer.utf8Slice !== undefined ? buffer.utf8Slice(this.offset, this.offset + length) : buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Returns `length` bytes as a copy, so the value does not pin the whole network buffer. */
  bytes(length: number): Buffer {
    this.need(length);
    const value = Buffer.from(this.buffer.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  private need(count: number): void {
    if (count < 0 || this.offset + count > this.end) {
      throw this.truncated(`${count} more bytes at offset ${this.offset}`);
    }
  }

  private truncated(detail: string): ReplicationError {
    return new ReplicationError('protocol', `A ${this.what} from the server is shorter than its format says (${detail}).`);
  }
}
