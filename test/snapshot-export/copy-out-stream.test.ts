// The COPY OUT reader against protocol bytes cut at every possible place: PostgreSQL's messages
// arrive in socket reads of any size, so a row, a message header, the binary header or the trailer
// may be split anywhere. Whatever the cuts, the reader must pass on exactly the rows' bytes (bare
// tuples in binary format), count the rows, cut the same segments with the same CRCs, and hand the
// bytes after CopyDone back to node-postgres. (The end-to-end tests run it against real servers.)
import { PassThrough } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../src/core/copy-binary-format.js';
import { CopyOutStream } from '../../src/engines/postgres/snapshot/copy-out-stream.js';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function tuple(values: (string | null)[]): Buffer {
  const parts = [Buffer.from([0, values.length])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v));
    parts.push(len);
    if (v !== null) parts.push(Buffer.from(v));
  }
  return Buffer.concat(parts);
}

/** The server's bytes for a COPY of `rows` in `format`, followed by CommandComplete. */
function serverBytes(rows: Buffer[], format: 'text' | 'binary'): Buffer {
  const messages = [message('H', Buffer.from([format === 'binary' ? 1 : 0, 0, 0]))];
  if (format === 'binary') {
    if (rows.length === 0) messages.push(message('d', Buffer.concat([BINARY_COPY_HEADER, BINARY_COPY_TRAILER])));
    rows.forEach((row, i) => messages.push(message('d', i === 0 ? Buffer.concat([BINARY_COPY_HEADER, row]) : row)));
    if (rows.length > 0) messages.push(message('d', BINARY_COPY_TRAILER));
  } else {
    for (const row of rows) messages.push(message('d', row));
  }
  messages.push(message('N', Buffer.from('SNOTICE\0\0')), message('c', Buffer.alloc(0)), message('C', Buffer.from(`COPY ${rows.length}\0`)));
  return Buffer.concat(messages);
}

/** Feeds `bytes` cut at `cuts` into a reader; returns what it passed on and what went back to node-postgres. */
async function read(bytes: Buffer, cuts: number[], format: 'text' | 'binary', segmentRows: number, blankPadded: boolean[] = []) {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (b: Buffer) => handedBack.push(b)); // node-postgres' own listener
  const stream = new CopyOutStream('COPY t TO STDOUT', format, { rows: segmentRows, bytes: 1 << 20 }, blankPadded);
  stream.submit({ stream: socket as never, query: () => undefined });
  handedBack.length = 0;
  const out: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (b: Buffer) => out.push(Buffer.from(b)));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    // Each socket read is a fresh buffer, as Node gives them.
    socket.write(Buffer.from(bytes.subarray(at, cut)));
    at = cut;
  }
  await done;
  await new Promise((resolve) => setImmediate(resolve));
  return { out: Buffer.concat(out), back: Buffer.concat(handedBack), stream };
}

const rowsText = ['1\tone\n', '2\t\\N\n', `3\t${'x'.repeat(300)}\n`, '4\tlast\n'].map((r) => Buffer.from(r));
const rowsBinary = [tuple(['1', 'one']), tuple(['2', null]), tuple(['3', 'x'.repeat(300)]), tuple(['4', ''])];

describe('COPY OUT reader', () => {
  for (const [format, rows] of [['text', rowsText], ['binary', rowsBinary]] as const) {
    it(`${format}: the same rows, counts and segments however the socket cuts the bytes`, async () => {
      const bytes = serverBytes(rows, format);
      const expected = Buffer.concat(rows);
      const tail = message('C', Buffer.from(`COPY ${rows.length}\0`));
      const cutsList: number[][] = [[]];
      for (let i = 1; i < bytes.length; i++) cutsList.push([i]);
      for (let k = 0; k < 200; k++) {
        const cuts = new Set<number>();
        for (let j = 0; j < 6; j++) cuts.add(1 + Math.floor(Math.random() * (bytes.length - 1)));
        cutsList.push([...cuts].sort((a, b) => a - b));
      }
      for (const cuts of cutsList) {
        const { out, back, stream } = await read(bytes, cuts, format, 2);
        expect(out.equals(expected), `cuts ${cuts.join(',')}`).toBe(true);
        expect(back.equals(tail), `cuts ${cuts.join(',')}`).toBe(true);
        expect(stream.rows).toBe(rows.length);
        expect(stream.segments).toEqual([
          { rows: 2, bytes: rows[0]!.length + rows[1]!.length, crc32: crc32(Buffer.concat([rows[0]!, rows[1]!])) },
          { rows: 2, bytes: rows[2]!.length + rows[3]!.length, crc32: crc32(Buffer.concat([rows[2]!, rows[3]!])) },
        ]);
      }
    });
  }

  it('binary: blank-padded fields lose their trailing spaces however the socket cuts the bytes, the others stay whole', async () => {
    const padded = [tuple(['1', 'ab   ', 'ab   ']), tuple(['2', '     ', '     ']), tuple(['3', null, ' a b ']), tuple(['4', '', 'x']), tuple(['5', 'ünï  ', ' '.repeat(300)])];
    const trimmed = [tuple(['1', 'ab', 'ab   ']), tuple(['2', '', '     ']), tuple(['3', null, ' a b ']), tuple(['4', '', 'x']), tuple(['5', 'ünï', ' '.repeat(300)])];
    const bytes = serverBytes(padded, 'binary');
    const expected = Buffer.concat(trimmed);
    const cutsList: number[][] = [[]];
    for (let i = 1; i < bytes.length; i++) cutsList.push([i]);
    for (let k = 0; k < 200; k++) cutsList.push([...new Set(Array.from({ length: 6 }, () => 1 + Math.floor(Math.random() * (bytes.length - 1))))].sort((a, b) => a - b));
    for (const cuts of cutsList) {
      // Rows cut by socket reads are gathered and trimmed too: the output depends on the data only.
      const { out, stream } = await read(bytes, cuts, 'binary', 2, [false, true, false]);
      expect(out.equals(expected), `cuts ${cuts.join(',')}`).toBe(true);
      expect(stream.rows).toBe(padded.length);
      expect(stream.segments).toEqual([
        { rows: 2, bytes: trimmed[0]!.length + trimmed[1]!.length, crc32: crc32(Buffer.concat([trimmed[0]!, trimmed[1]!])) },
        { rows: 2, bytes: trimmed[2]!.length + trimmed[3]!.length, crc32: crc32(Buffer.concat([trimmed[2]!, trimmed[3]!])) },
        { rows: 1, bytes: trimmed[4]!.length, crc32: crc32(trimmed[4]!) },
      ]);
    }
    // A tuple whose field count differs from the columns' is passed on as it is.
    const odd = await read(serverBytes([tuple(['9', 'z  '])], 'binary'), [], 'binary', 2, [false, true, false]);
    expect(odd.out.equals(tuple(['9', 'z  ']))).toBe(true);
  });

  it('binary: an empty result (header and trailer in one message) passes nothing on', async () => {
    const bytes = serverBytes([], 'binary');
    for (let i = 0; i < bytes.length; i++) {
      const { out, stream } = await read(bytes, i === 0 ? [] : [i], 'binary', 2);
      expect(out.length).toBe(0);
      expect(stream.rows).toBe(0);
      expect(stream.segments).toEqual([]);
    }
  });
});
