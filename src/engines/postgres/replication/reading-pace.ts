// Is the server ahead of the consumer of a replication stream? Told by the size of the socket reads:
// the exporter reads a backlog without waiting between reads (the backlog mode), and a stream it keeps
// up with after a short gather of the bytes (the calm mode, copy-both-query.ts GATHER_MS).

/**
 * A read of at least this many bytes means the server is ahead of the consumer: the kernel held that
 * much when Node read it (Node reads a socket 64 KB at a time and stops once its buffer holds 16 KB).
 * Not the whole 64 KB: a full socket's reads may stop short at a segment's end (65,430 and 65,536
 * bytes in turn were seen), and a threshold of exactly 64 KB then never saw three big reads in a row.
 * After BACKLOG_READS such reads in a row, a waiting consumer is woken at once, without the gather,
 * until a read finds less: each gather moved at most ~80 KB a timer (>= 1 ms) apart, and a stream of
 * wide rows ran at ~38 MB/s with both processes half idle (the walsender waiting for the socket in
 * WalSenderWriteData, the exporter for the timer); without it, ~80 MB/s (lab: 100,000 rows of 1.5 KB,
 * capture 4.1-4.3 s -> 1.7-2.1 s). A stream the consumer keeps up with (pgbench: ~36 KB a read on
 * average, a few big ones here and there) keeps the gather, which pays there.
 */
export const BACKLOG_READ_BYTES = 56 * 1024;
export const BACKLOG_READS = 3;

/** The reading mode, switched by each read's size: BACKLOG_READS big reads in a row start the backlog mode, a smaller read ends it. */
export class ReadingPace {
  /** True while the server is ahead: a waiting consumer is woken without the gather. */
  backlog = false;
  /** Reads made in the backlog mode (stats, tests). */
  backlogReads = 0;
  /** Reads of at least BACKLOG_READ_BYTES in a row. */
  private bigReads = 0;

  /** Takes the size of one socket read into account. */
  observe(bytes: number): void {
    if (this.backlog) this.backlogReads += 1;
    this.bigReads = bytes >= BACKLOG_READ_BYTES ? this.bigReads + 1 : 0;
    this.backlog = this.bigReads >= (this.backlog ? 1 : BACKLOG_READS);
  }
}
