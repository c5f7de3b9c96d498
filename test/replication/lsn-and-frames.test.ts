// Pure parts of the replication engine: LSN text and ordering, the replication sub-protocol frames,
// the command texts per server version, and the decoder's refusal of malformed messages (bytes
// the real server never sends, so they cannot come from the harness).

import { describe, expect, it } from 'vitest';
import { GodwitError } from '../../src/core/errors.js';
import { compareLsn, formatLsn, INVALID_LSN, isValidLsn, maxLsn, parseLsn } from '../../src/core/lsn.js';
import { createSlotCommand, startReplicationCommand } from '../../src/engines/postgres/replication/replication-commands.js';
import { parseServerFrame, standbyStatusUpdate } from '../../src/engines/postgres/replication/replication-frames.js';
import { dateToPgTime, PgoutputDecoder, pgTimeToDate, ReplicationError } from '../../src/engines/postgres/replication/index.js';
import { serverTimeToMs } from '../../src/capture/change-builder.js';
import { parseServerInfo } from '../../src/engines/postgres/server-info.js';

const PG15 = parseServerInfo('PostgreSQL 15.18 on x86_64-pc-linux-gnu', 150018);
const PG13 = parseServerInfo('PostgreSQL 13.20 on x86_64-pc-linux-gnu', 130020);
const PG16 = parseServerInfo('PostgreSQL 16.9 on x86_64-pc-linux-gnu', 160009);
const YB = parseServerInfo('PostgreSQL 15.12-YB-2025.2.4.0-b0 on x86_64-pc-linux-gnu', 150012);

describe('LSN', () => {
  it('parses and formats the way PostgreSQL writes them', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16_b374_d848n);
    expect(parseLsn('0/0')).toBe(INVALID_LSN);
    expect(parseLsn('0/0123ABCD')).toBe(0x0123_abcdn); // PostgreSQL 18 pads the low half
    expect(parseLsn('ffffffff/ffffffff')).toBe(0xffff_ffff_ffff_ffffn);
    expect(formatLsn(0x16_b374_d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(parseLsn('1/ABCDEF'))).toBe('1/ABCDEF');
    expect(formatLsn(0xffff_ffff_ffff_ffffn)).toBe('FFFFFFFF/FFFFFFFF');
    // Leading zeros of every length in both halves, and values past 2^53 (the bigint path).
    const samples = [0x1_0000_0000n, 0xffff_ffffn, 0x1f_ffff_ffff_ffffn, 0x20_0000_0000_0000n, 0x9_0000_000an];
    for (let shift = 0n; shift < 64n; shift += 4n) samples.push(1n << shift, (0xabn << shift) & 0xffff_ffff_ffff_ffffn, ((1n << shift) - 1n) | 1n);
    for (const lsn of samples) {
      expect(formatLsn(lsn)).toBe(`${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`);
    }
  });

  it('refuses what is not an LSN', () => {
    for (const text of ['', '16', '16/', '/1', 'G/1', '1/2/3', '123456789/0', '-1/0']) {
      expect(() => parseLsn(text), text).toThrow(GodwitError);
    }
    expect(() => formatLsn(-1n)).toThrow(GodwitError);
    expect(() => formatLsn(1n << 64n)).toThrow(GodwitError);
  });

  it('orders positions numerically, not as text', () => {
    expect(compareLsn(parseLsn('0/9'), parseLsn('0/10'))).toBe(-1);
    expect(compareLsn(parseLsn('1/0'), parseLsn('0/FFFFFFFF'))).toBe(1);
    expect(compareLsn(5n, 5n)).toBe(0);
    expect(maxLsn(3n, 7n)).toBe(7n);
    expect(isValidLsn(INVALID_LSN)).toBe(false);
    expect(isValidLsn(1n)).toBe(true);
  });
});

describe('replication frames', () => {
  it('reads XLogData and keepalive messages', () => {
    const x = Buffer.alloc(25 + 3);
    x[0] = 0x77;
    x.writeBigUInt64BE(0x1_0000_0010n, 1);
    x.writeBigUInt64BE(0x1_0000_0020n, 9);
    x.writeBigInt64BE(123n, 17);
    x.write('abc', 25);
    const frame = parseServerFrame(x);
    expect(frame).toMatchObject({ kind: 'xlogdata', walStart: 0x1_0000_0010n, walEnd: 0x1_0000_0020n, sendTime: 123n });
    expect(frame.kind === 'xlogdata' && frame.data.toString()).toBe('abc');

    const k = Buffer.alloc(18);
    k[0] = 0x6b;
    k.writeBigUInt64BE(42n, 1);
    k.writeBigInt64BE(7n, 9);
    k[17] = 1;
    expect(parseServerFrame(k)).toEqual({ kind: 'keepalive', walEnd: 42n, sendTime: 7n, replyRequested: true });
    expect(() => parseServerFrame(k.subarray(0, 10))).toThrow(ReplicationError);
    expect(() => parseServerFrame(Buffer.from([0x71]))).toThrow(/expected XLogData or keepalive/);
  });

  it('writes standby status updates with exactly the positions given', () => {
    const body = standbyStatusUpdate({ written: 10n, flushed: 9n, applied: 8n }, 5n, false);
    expect(body.length).toBe(34);
    expect(String.fromCharCode(body[0] as number)).toBe('r');
    expect([body.readBigUInt64BE(1), body.readBigUInt64BE(9), body.readBigUInt64BE(17), body.readBigInt64BE(25)]).toEqual([10n, 9n, 8n, 5n]);
    expect(body[33]).toBe(0);
    expect(standbyStatusUpdate({ written: 0n, flushed: 0n, applied: 0n }, 0n, true)[33]).toBe(1);
  });

  it('converts server timestamps', () => {
    const now = new Date('2025-01-02T03:04:05.678Z');
    expect(pgTimeToDate(dateToPgTime(now)).toISOString()).toBe(now.toISOString());
    expect(pgTimeToDate(0n).toISOString()).toBe('2000-01-01T00:00:00.000Z');
  });
});

describe('replication commands per server', () => {
  it('CREATE_REPLICATION_SLOT: option list on PostgreSQL 15+, keywords before and on YugabyteDB', () => {
    expect(createSlotCommand('s1', {}, PG15)).toBe(`CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput (SNAPSHOT 'export')`);
    expect(createSlotCommand('s1', { snapshot: 'nothing', temporary: true }, PG15)).toBe(`CREATE_REPLICATION_SLOT s1 TEMPORARY LOGICAL pgoutput (SNAPSHOT 'nothing')`);
    expect(createSlotCommand('s1', { snapshot: 'use' }, PG13)).toBe('CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput USE_SNAPSHOT');
    expect(createSlotCommand('s1', { snapshot: 'nothing' }, YB)).toBe('CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput NOEXPORT_SNAPSHOT');
    expect(() => createSlotCommand('godwit-m1', {}, PG15)).toThrow(/not a valid replication slot name/);
  });

  it('START_REPLICATION: quoted publication names, options the server has', () => {
    expect(startReplicationCommand({ slotName: 's1', startLsn: parseLsn('1/A'), publicationNames: ['p1', `It's "x"`] }, PG15)).toBe(
      `START_REPLICATION SLOT s1 LOGICAL 1/A (proto_version '2', publication_names '"p1","It''s ""x"""', streaming 'on', messages 'true')`,
    );
    expect(startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'], protocolVersion: 1, messages: false }, PG15)).toBe(
      `START_REPLICATION SLOT s1 LOGICAL 0/0 (proto_version '1', publication_names '"p"')`,
    );
    expect(startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'] }, PG13)).toBe(
      `START_REPLICATION SLOT s1 LOGICAL 0/0 (proto_version '1', publication_names '"p"')`,
    );
    expect(startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'], origin: 'none', binary: true }, PG16)).toContain(
      `binary 'true', origin 'none'`,
    );
    expect(() => startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'], protocolVersion: 2 }, PG13)).toThrow(/PostgreSQL 14/);
    expect(() => startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'], origin: 'none' }, PG15)).toThrow(/PostgreSQL 16/);
    expect(() => startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: ['p'], protocolVersion: 1, streaming: true }, PG15)).toThrow(
      /protocol version 2/,
    );
    expect(() => startReplicationCommand({ slotName: 's1', startLsn: 0n, publicationNames: [] }, PG15)).toThrow(/at least one publication/);
  });
});

describe('decoder refusals', () => {
  it('a change for a relation never described, a short message, an unknown type, a column count mismatch', () => {
    const decoder = new PgoutputDecoder();
    const insert = Buffer.from([0x49, 0, 0, 0x40, 0x00, 0x4e, 0, 1, 0x6e]);
    expect(() => decoder.decode(insert)).toThrow(/before describing it/);
    expect(() => decoder.decode(Buffer.from([0x42, 0, 0]))).toThrow(/shorter than its format says/);
    expect(() => decoder.decode(Buffer.from([0x5a]))).toThrow(/unexpected message type "Z"/);
    expect(() => decoder.decode(Buffer.alloc(0))).toThrow(ReplicationError);

    // Relation 16384 "public"."t" with one key column, then an INSERT with two columns.
    const relation = Buffer.concat([
      Buffer.from([0x52, 0, 0, 0x40, 0x00]),
      Buffer.from('public\0t\0'),
      Buffer.from([0x64, 0, 1, 1]),
      Buffer.from('id\0'),
      Buffer.from([0, 0, 0, 23, 0xff, 0xff, 0xff, 0xff]),
    ]);
    expect(decoder.decode(relation)).toMatchObject({ tag: 'relation', relation: { name: 't', columns: [{ name: 'id', isKey: true, typeOid: 23, typeModifier: -1 }] } });
    const twoColumns = Buffer.from([0x49, 0, 0, 0x40, 0x00, 0x4e, 0, 2, 0x6e, 0x6e]);
    expect(() => decoder.decode(twoColumns)).toThrow(/row of 2 columns/);
    expect(decoder.decode(insert)).toMatchObject({ tag: 'insert', newTuple: [null], xid: undefined });
    const badKind = Buffer.from([0x49, 0, 0, 0x40, 0x00, 0x4e, 0, 1, 0x78]);
    expect(() => decoder.decode(badKind)).toThrow(/column kind "x"/);
  });
});

describe('Begin and Commit', () => {
  // Their fields stay in the message's bytes until read (transaction-messages.ts): each read must give
  // what a bigint read of the same bytes gives, the commit time in milliseconds as serverTimeToMs does.
  const times = [0n, 1n, 999n, 1000n, -1n, -999n, -1001n, 851_234_567_890_123n, -946_684_800_000_000n, 2n ** 53n - 1n, -(2n ** 53n) + 1n];
  const lsns = [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 0x16_b374_d848n, 2n ** 63n, 2n ** 64n - 1n];

  it('reads positions, xid and commit time as the protocol wrote them', () => {
    const decoder = new PgoutputDecoder();
    for (const [i, time] of times.entries()) {
      const finalLsn = lsns[i % lsns.length] as bigint;
      const endLsn = lsns[(i + 3) % lsns.length] as bigint;
      const begin = Buffer.alloc(21);
      begin[0] = 0x42;
      begin.writeBigUInt64BE(finalLsn, 1);
      begin.writeBigInt64BE(time, 9);
      begin.writeUInt32BE(0xfffffff0 - i, 17);
      // Inside a bigger buffer, as the network delivers them.
      const framed = Buffer.concat([Buffer.from([9, 9, 9]), begin, Buffer.from([7])]);
      const b = decoder.decode(framed, 3, 3 + begin.length);
      expect(b).toMatchObject({ tag: 'begin', finalLsn, commitTime: time, xid: 0xfffffff0 - i });
      expect((b as unknown as { commitTimeMs: number }).commitTimeMs).toBe(serverTimeToMs(time));

      const commit = Buffer.alloc(26);
      commit[0] = 0x43;
      commit[1] = i;
      commit.writeBigUInt64BE(finalLsn, 2);
      commit.writeBigUInt64BE(endLsn, 10);
      commit.writeBigInt64BE(time, 18);
      const c = decoder.decode(Buffer.concat([commit, Buffer.from([1, 2])]), 0, commit.length);
      expect(c).toMatchObject({ tag: 'commit', flags: i, commitLsn: finalLsn, endLsn, commitTime: time });
      expect((c as unknown as { commitTimeMs: number }).commitTimeMs).toBe(serverTimeToMs(time));
    }
  });

  it('refuses one cut short', () => {
    const decoder = new PgoutputDecoder();
    expect(() => decoder.decode(Buffer.alloc(20, 0x42), 0, 20)).toThrow(/shorter than its format says/);
    expect(() => decoder.decode(Buffer.alloc(30, 0x43), 0, 25)).toThrow(/shorter than its format says/);
  });
});

