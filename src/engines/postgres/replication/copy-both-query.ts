// The CopyBoth sub-protocol of START_REPLICATION on a node-postgres connection. node-postgres parses
// every byte the server sends and has no flow control, so, like pg-copy-streams, this query takes
// the socket over while the copy runs: it removes pg's 'data' listener, reads the socket in paused
// mode only when its consumer asks for the next message (a slow consumer stops the reading, TCP
// stops the server: nothing is buffered without bound), and hands the socket back to pg for what
// pg knows how to handle (ErrorResponse, CommandComplete, ReadyForQuery).

import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { ReadingPace } from './reading-pace.js';
import { COPY_DONE_MESSAGE, copyDataMessage } from './replication-frames.js';
import { ReplicationError } from './replication-errors.js';

// Backend message types handled here; every other type goes back to pg.
const COPY_BOTH_RESPONSE = 0x57; // 'W'
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const NOTICE = 0x4e; // 'N'
const PARAMETER_STATUS = 0x53; // 'S'
const NOTIFICATION = 0x41; // 'A'
const HANDLED_HERE = new Set([COPY_BOTH_RESPONSE, COPY_DATA, COPY_DONE, NOTICE, PARAMETER_STATUS, NOTIFICATION]);
/** The first byte of a keepalive's CopyData body. */
const KEEPALIVE = 0x6b; // 'k'

/**
 * How long a waiting consumer lets the stream's bytes gather after the first ones arrive. A consumer
 * faster than the walsender (the exporter reading a backlog) otherwise wakes for each few kilobytes
 * the server sends, and both processes pay for it: in the lab's catch-up of a 290,000-event pgbench
 * backlog, capture alone took 1.55 s of exporter CPU and 1.70 s of walsender CPU reading as soon as
 * bytes came, 0.62 s and 0.92 s (and 40 % less time) waiting 1 ms first. Longer waits throttle the
 * stream: the socket's buffers fill and the walsender stops. A live stream's latency grows by 1 ms.
 */
const GATHER_MS = 1;


/** What readFrame() returns when no CopyData body is available yet: call waitForData() and try again. */
export const NOT_YET = Symbol('not-yet');

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // awaited by the owner when it cares; never an unhandled rejection
  return { promise, resolve, reject };
}

/** Callbacks run as messages are parsed, before the consumer sees them. */
export interface CopyBothHooks {
  /** Every CopyData body that is a keepalive ('k'), as it is parsed (to answer those that ask for a reply at once). */
  onKeepalive?: (body: Buffer) => void;
  /** Notices the server sends during the copy. */
  onNotice?: (message: string) => void;
}

/** A pg Submittable running one CopyBoth command (START_REPLICATION) with pull-based reading. */
export class CopyBothQuery implements pg.Submittable {
  /** Resolves when the server answered CopyBothResponse; rejects with the server's error otherwise. */
  readonly started: Promise<void>;
  /** Resolves when the command is over and pg got ReadyForQuery; rejects when the connection failed. */
  readonly finished: Promise<void>;
  /** Date.now() of the last bytes read from the socket. */
  lastReceivedAt = Date.now();

  private readonly startedState = deferred();
  private readonly finishedState = deferred();
  private socket: Duplex | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private ownsSocket = false;
  private copying = false;
  private serverDone = false;
  private clientDone = false;
  private isFinished = false;
  private failure: Error | undefined;
  /** Bytes read from the socket and not yet parsed: the first chunk from `head` on. */
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  /** Where the body of the CopyData message readFrame() returned last lies in the Buffer it returned. */
  frameStart = 0;
  frameEnd = 0;
  private waiter: (() => void) | undefined;
  /** The timer that wakes a waiting consumer once the bytes that woke it had GATHER_MS to gather. */
  private gathering: NodeJS.Timeout | undefined;
  /** The calm or the backlog reading mode, by the size of the socket reads (reading-pace.ts). */
  private readonly pace = new ReadingPace();

  constructor(
    private readonly text: string,
    private readonly hooks: CopyBothHooks = {},
  ) {
    this.started = this.startedState.promise;
    this.finished = this.finishedState.promise;
  }

  /** Called by pg when the query's turn comes: take the socket over, then send the command. */
  submit(connection: pg.Connection): Error | undefined {
    const socket = connection.stream;
    const listeners = socket.listeners('data');
    if (listeners.length !== 1) {
      return new ReplicationError('protocol', `Cannot take over the connection's socket (${listeners.length} data listeners).`);
    }
    this.socket = socket;
    this.pgDataHandler = listeners[0] as (chunk: Buffer) => void;
    socket.removeListener('data', this.pgDataHandler);
    socket.pause();
    socket.on('readable', this.onReadable);
    this.ownsSocket = true;
    connection.query(this.text);
    return undefined;
  }

  /**
   * The Buffer holding the next CopyData body, in order: the body is [frameStart, frameEnd) of it (no
   * view is made per message); null once the server ended the copy; NOT_YET when nothing is
   * available without waiting. Throws the failure once every body received before it was delivered.
   * Reads and parses the socket's bytes only here, so the consumer's pace is the reading pace.
   */
  readFrame(): Buffer | null | typeof NOT_YET {
    for (;;) {
      const frame = this.nextMessage(true);
      if (frame !== undefined) return frame;
      if (this.failure !== undefined) throw this.failure;
      if (this.serverDone || this.isFinished) return null;
      if (!this.ownsSocket || this.socket === undefined) return NOT_YET;
      const chunk = this.socket.read() as Buffer | null;
      if (chunk === null) return NOT_YET;
      this.pace.observe(chunk.length);
      this.received(chunk);
    }
  }

  /** Socket reads made in the backlog mode (stats, tests). */
  get backlogReads(): number {
    return this.pace.backlogReads;
  }

  /** Resolves GATHER_MS after the socket has more bytes, at once when the copy ended or failed, or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.wake(); // one consumer at a time: release an earlier waiter
      this.waiter = done;
    });
  }

  /** Sends one CopyData message to the server (a standby status update); false when the copy is no longer open. */
  write(body: Buffer): boolean {
    if (!this.copying || this.clientDone || this.isFinished || this.failure !== undefined) return false;
    const socket = this.socket;
    if (socket === undefined || !socket.writable) return false;
    socket.write(copyDataMessage(body));
    return true;
  }

  /** Ends the client's side with CopyDone; what the server still sends is read and dropped until it ends too. */
  endCopy(): void {
    if (this.clientDone) return;
    this.sendCopyDone();
    // Bodies not delivered yet are dropped as pump parses them (the client ended the copy).
    this.pump();
  }

  /** Bytes read from the server and not yet handed to the consumer (unparsed messages, the socket's buffer). */
  get bufferedBytes(): number {
    return this.buffered + (this.socket?.readableLength ?? 0);
  }

  /** True once the client sent CopyDone. */
  get ended(): boolean {
    return this.clientDone;
  }

  /** Closes the socket at once (a hung server, or giving up). */
  destroy(): void {
    this.socket?.destroy();
  }

  // ---- pg's query callbacks (pg calls them for the messages handed back to it) ----

  /** pg: an ErrorResponse, or the connection broke. */
  handleError(error: Error): void {
    this.failure ??= error;
    this.startedState.reject(error);
    this.finishedState.reject(error);
    this.wake();
  }

  /** pg: ReadyForQuery after the copy: the connection takes commands again. */
  handleReadyForQuery(): void {
    this.isFinished = true;
    if (!this.copying) {
      this.failure ??= new ReplicationError('protocol', `The server did not start a replication stream for: ${this.text}`);
      this.startedState.reject(this.failure);
    }
    this.finishedState.resolve();
    this.wake();
  }

  // pg calls these for the messages after the copy (CommandComplete) or for an unexpected reply;
  // nothing in them matters to the stream: its end comes with ReadyForQuery.
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}

  // ---- socket reading ----

  private readonly onReadable = (): void => {
    // Before the stream starts (to see CopyBothResponse or the error) and while stopping (to reach
    // the server's CopyDone), read eagerly and wake at once; otherwise wake a waiting consumer once
    // more bytes had time to come.
    if (!this.copying || this.clientDone) {
      this.pump();
      this.wake();
      return;
    }
    if (this.waiter === undefined) return;
    if (this.pace.backlog) this.wake();
    else this.gathering ??= setTimeout(this.gathered, GATHER_MS);
  };

  private readonly gathered = (): void => {
    this.gathering = undefined;
    this.wake();
  };

  private pump(): void {
    while (this.ownsSocket && this.socket !== undefined) {
      this.nextMessage(false);
      // Streaming and not stopping: the CopyData bodies wait for the consumer, who reads on.
      if (this.copying && !this.clientDone) return;
      const chunk = this.socket.read() as Buffer | null;
      if (chunk === null) return;
      this.received(chunk);
    }
  }

  private received(chunk: Buffer): void {
    this.lastReceivedAt = Date.now();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Parses the buffered whole messages up to the next CopyData: that one is returned (its body at
   * frameStart..frameEnd) when `deliver` holds, dropped once the client ended the copy (parsing goes
   * on), and otherwise left unparsed; other messages are handled here. Undefined when no CopyData is
   * returned (no whole message left, a CopyData left for the consumer, or the socket went back to pg).
   */
  private nextMessage(deliver: boolean): Buffer | undefined {
    while (this.ownsSocket && this.buffered >= 5) {
      let source = this.contiguous(5);
      let at = this.head;
      const type = source[at] as number;
      if (!HANDLED_HERE.has(type)) {
        this.handBack();
        return undefined;
      }
      const total = 1 + source.readUInt32BE(at + 1);
      if (this.buffered < total) return undefined;
      if (type === COPY_DATA && !deliver && !this.clientDone) return undefined;
      source = this.contiguous(total);
      at = this.head;
      this.consume(total);
      const start = at + 5;
      const end = at + total;
      if (type === COPY_DATA) {
        if (this.clientDone) continue;
        if (source[start] === KEEPALIVE) this.hooks.onKeepalive?.(source.subarray(start, end));
        this.frameStart = start;
        this.frameEnd = end;
        return source;
      }
      if (type === COPY_BOTH_RESPONSE) {
        this.copying = true;
        this.startedState.resolve();
        continue;
      }
      if (type === COPY_DONE) {
        this.serverDone = true;
        this.handBack();
        // The server ended its side (it is shutting down): end ours too, or it waits for it. The
        // bodies received before were delivered already.
        this.sendCopyDone();
        return undefined;
      }
      if (type === NOTICE) this.hooks.onNotice?.(noticeText(source.subarray(start, end)));
    }
    return undefined;
  }

  private sendCopyDone(): void {
    if (this.clientDone) return;
    this.clientDone = true;
    if (this.copying && !this.isFinished && this.failure === undefined && this.socket?.writable === true) {
      this.socket.write(COPY_DONE_MESSAGE);
    }
  }

  // The Buffer holding the first `length` buffered bytes from `head` on (merging chunks only when a message spans them).
  private contiguous(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= length) return first;
    const merged = Buffer.concat([first.subarray(this.head), ...this.chunks.slice(1)], this.buffered);
    this.chunks = [merged];
    this.head = 0;
    return merged;
  }

  private consume(length: number): void {
    const first = this.chunks[0] as Buffer;
    this.head += length;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= length;
  }

  // Gives the socket and the unread bytes back to pg, which parses them as usual.
  private handBack(): void {
    const socket = this.socket;
    const handler = this.pgDataHandler;
    if (!this.ownsSocket || socket === undefined || handler === undefined) return;
    this.ownsSocket = false;
    const rest = this.buffered > 0 ? Buffer.concat([(this.chunks[0] as Buffer).subarray(this.head), ...this.chunks.slice(1)], this.buffered) : undefined;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    socket.removeListener('readable', this.onReadable);
    socket.on('data', handler);
    if (rest !== undefined) handler(rest);
    process.nextTick(() => socket.resume());
    this.wake();
  }

  private wake(): void {
    if (this.gathering !== undefined) {
      clearTimeout(this.gathering);
      this.gathering = undefined;
    }
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

// NoticeResponse: (field code, C string)* then a zero byte; 'M' is the message, 'S' the severity.
function noticeText(body: Buffer): string {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < body.length && body[offset] !== 0) {
    const code = String.fromCharCode(body[offset] as number);
    const end = body.indexOf(0, offset + 1);
    if (end < 0) break;
    fields.set(code, body.toString('utf8', offset + 1, end));
    offset = end + 1;
  }
  return `${fields.get('S') ?? 'NOTICE'}: ${fields.get('M') ?? ''}`;
}
