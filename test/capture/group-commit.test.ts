// When the capture commits its queue: by event count (the first groups of a run smaller, so the
// importer gets its first events early) and by the age of the oldest waiting transaction.
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/capture/group-commit.js';

/** Ends transactions of `size` events until the group is due; returns how many events it held. */
function fill(group: GroupCommit, size: number): number {
  let events = 0;
  while (!group.due(0)) {
    group.ended(size, 0);
    events += size;
  }
  group.committed(0);
  return events;
}

describe('group commit', () => {
  it('commits the first groups at 1,000, 2,000, 4,000 ... events, then at maxEvents', () => {
    const group = new GroupCommit({ maxEvents: 10_000, maxDelayMs: 50 });
    expect([1, 2, 3, 4, 5, 6].map(() => fill(group, 4))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('keeps a maxEvents below the first step, and commits by age whatever the count', () => {
    const small = new GroupCommit({ maxEvents: 3, maxDelayMs: 400 });
    expect([fill(small, 1), fill(small, 1)]).toEqual([3, 3]);
    const aged = new GroupCommit({ maxEvents: 10_000, maxDelayMs: 50 });
    expect(aged.due(1_000)).toBe(false); // nothing waits
    aged.ended(1, 1_000);
    expect(aged.deadline).toBe(1_050);
    expect(aged.due(1_049)).toBe(false);
    expect(aged.due(1_050)).toBe(true);
  });
});
