// The exporter's reading mode, switched by the size of its socket reads (reading-pace.ts): reads of a
// full socket that stop short of 64 KiB at a segment's end must still count as big ones.

import { describe, expect, it } from 'vitest';
import { BACKLOG_READ_BYTES, BACKLOG_READS, ReadingPace } from '../../src/engines/postgres/replication/reading-pace.js';

const observeAll = (pace: ReadingPace, sizes: number[]): ReadingPace => {
  for (const bytes of sizes) pace.observe(bytes);
  return pace;
};

describe('reading pace', () => {
  it('enters the backlog mode after three big reads in a row, including reads of 65,430 bytes', () => {
    // The pattern a full loopback socket gave in CI: it never switched with a threshold of 64 KiB.
    const pace = observeAll(new ReadingPace(), [65_430, 65_536, 65_430]);
    expect(pace.backlog).toBe(true);
    observeAll(pace, [65_536, 65_430, 65_536]);
    expect(pace.backlogReads).toBe(3);
  });

  it('stays calm with smaller reads or big ones not in a row, and leaves the backlog mode at the first smaller read', () => {
    expect(observeAll(new ReadingPace(), Array.from({ length: 10 }, () => 36 * 1024)).backlog).toBe(false);
    expect(observeAll(new ReadingPace(), [65_536, 65_536, 4_096, 65_536, 65_536]).backlog).toBe(false);
    const pace = observeAll(new ReadingPace(), Array.from({ length: BACKLOG_READS }, () => BACKLOG_READ_BYTES));
    expect(pace.backlog).toBe(true);
    pace.observe(BACKLOG_READ_BYTES - 1);
    expect(pace.backlog).toBe(false);
    expect(pace.backlogReads).toBe(1);
  });
});
