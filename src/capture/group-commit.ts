// When the capture pipeline makes the queue durable. Every queue commit costs an fsync and a SQLite
// transaction, so whole transactions are grouped: a commit happens once enough events wait, or once
// the oldest waiting transaction has waited long enough (which bounds the lag an importer sees and
// how long the slot waits for its acknowledgement). A commit always precedes an acknowledgement.

/** The two limits of a group of transactions waiting for their queue commit. */
export interface GroupCommitOptions {
  /** Commit once this many events of ended transactions wait. */
  maxEvents: number;
  /** Commit once the oldest ended transaction has waited this long (milliseconds). */
  maxDelayMs: number;
}

/**
 * 10,000 events or 50 ms: about ten commits a second under load, and at most 50 ms of added lag for
 * the importer (also for the last transactions of a backlog, which nothing else pushes out).
 */
export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { maxEvents: 10_000, maxDelayMs: 50 };

/**
 * The first group of a run commits at this many events, and each next one at twice as many, up to
 * maxEvents: a restarted exporter reading a backlog hands the importer its first events after about
 * a thousand instead of ten thousand (in the changes benchmark, ~50 ms sooner, while the importer
 * waits with nothing to do), for four more commits in all.
 */
const FIRST_GROUP_EVENTS = 1_000;

/** Counts what waits for the next queue commit and says when it is due. */
export class GroupCommit {
  private events = 0;
  private transactions = 0;
  private oldestEndedAt: number | undefined;
  /** The event count that makes the current group due: grows from FIRST_GROUP_EVENTS to maxEvents. */
  private limit: number;
  /** The previous group: whether it was big (dueWhenCaughtUp's size), and when it was committed. */
  private previousBig = false;
  private previousAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: GroupCommitOptions) {
    this.limit = Math.min(options.maxEvents, FIRST_GROUP_EVENTS);
  }

  /** Records a transaction that ended (its events may now be committed). */
  ended(events: number, now: number): void {
    this.events += events;
    this.transactions += 1;
    this.oldestEndedAt ??= now;
  }

  /** True while ended transactions wait for a commit. */
  get pending(): boolean {
    return this.transactions > 0;
  }

  /** True when the waiting group should be committed now. */
  due(now: number): boolean {
    if (this.oldestEndedAt === undefined) return false;
    return this.events >= this.limit || now - this.oldestEndedAt >= this.options.maxDelayMs;
  }

  /**
   * True when a keepalive, the walsender's word that it has sent everything it has for now, should
   * commit the waiting group at once instead of at its age limit: when the group holds a first
   * group's worth of events, or follows within maxDelayMs a group that did (the tail of a burst). The
   * last transactions of a backlog then reach the importer without waiting maxDelayMs (in the changes
   * benchmark that wait was on the catch-up's critical path), while a live stream of small
   * transactions, with a keepalive after each, still commits by age.
   */
  dueWhenCaughtUp(now: number): boolean {
    if (this.transactions === 0) return false;
    return this.events >= this.bigGroup || (this.previousBig && now - this.previousAt < this.options.maxDelayMs);
  }

  private get bigGroup(): number {
    return Math.min(FIRST_GROUP_EVENTS, this.options.maxEvents);
  }

  /** When the waiting group becomes due by age (Date.now() scale); undefined when nothing waits. */
  get deadline(): number | undefined {
    return this.oldestEndedAt === undefined ? undefined : this.oldestEndedAt + this.options.maxDelayMs;
  }

  /** Everything that waited was committed (the commit started at `now`). */
  committed(now: number): void {
    this.previousBig = this.events >= this.bigGroup;
    this.previousAt = now;
    this.limit = Math.min(this.options.maxEvents, this.limit * 2);
    this.events = 0;
    this.transactions = 0;
    this.oldestEndedAt = undefined;
  }
}
