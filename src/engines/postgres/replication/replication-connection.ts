// A logical replication (walsender) connection to the source: creates and drops pgoutput slots and
// runs one replication stream at a time. It opens through connect() with `replication: 'database'`,
// so TLS modes, passwords, retries and connection errors are the same as for every other connection.
//
// The snapshot exported by CREATE_REPLICATION_SLOT lives only while this connection stays open and
// runs no other command (DESIGN section 7): after createSlot() with snapshot 'export', every other
// command is refused until releaseSnapshot() says the readers have joined the snapshot.

import type pg from 'pg';
import type { DatabaseSettings } from '../../../core/database-settings.js';
import { describeError, GodwitError } from '../../../core/errors.js';
import { silentLogger, type Logger } from '../../../core/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../../../core/lsn.js';
import { connect, type ConnectOptions } from '../connect.js';
import { serverPlace } from '../connection-errors.js';
import { readServerInfo, type ServerInfo } from '../server-info.js';
import {
  createSlotCommand,
  dropSlotCommand,
  startReplicationCommand,
  type CreateSlotOptions,
  type StartReplicationOptions,
} from './replication-commands.js';
import { ReplicationError, toReplicationError } from './replication-errors.js';
import { DEFAULT_STREAM_TIMING, ReplicationStream, type ReplicationStreamTiming } from './replication-stream.js';
import { assertSlotUsable, readSlotBeforeStreaming, readSlotState, type SlotState } from './slot-state.js';

/** What IDENTIFY_SYSTEM reports (PostgreSQL only: YugabyteDB has no IDENTIFY_SYSTEM). */
export interface SystemIdentity {
  systemId: string;
  timeline: number;
  /** The current WAL flush position. */
  walFlushLsn: Lsn;
  database: string | undefined;
}

/** A slot just created. */
export interface CreatedSlot {
  slotName: string;
  /** The stream of this slot starts here: every transaction committing after it, none before. */
  consistentPoint: Lsn;
  /** The exported snapshot (SET TRANSACTION SNAPSHOT), when created with snapshot 'export'. */
  snapshotName: string | undefined;
  outputPlugin: string;
}

/** Options of startReplication() beyond the pgoutput ones. */
export interface StreamOptions extends StartReplicationOptions {
  timing?: Partial<ReplicationStreamTiming>;
}

/** One walsender session; commands run one after another, a stream occupies it until stopped. */
export class ReplicationConnection {
  private heldSnapshot: string | undefined;
  private stream: ReplicationStream | undefined;
  private streamed = false;

  private constructor(
    /** The underlying node-postgres client (replication mode). */
    readonly client: pg.Client,
    readonly server: ServerInfo,
    private readonly place: string,
    private readonly logger: Logger,
  ) {}

  /** Opens a replication connection to the database of `settings` (source or, for fall-back, target). */
  static async open(
    settings: DatabaseSettings,
    options: Omit<ConnectOptions, 'replication'>,
  ): Promise<ReplicationConnection> {
    const logger = options.logger ?? silentLogger;
    const connection = await connect(settings, { ...options, replication: 'database' });
    const client = connection.client;
    client.removeAllListeners('error');
    // Failures surface through the command or stream in progress; the client event must not crash the process.
    client.on('error', (error) => logger.debug(`replication connection error: ${error.message}`));
    return new ReplicationConnection(client, connection.server, serverPlace(settings), logger);
  }

  /** Wraps a client already connected with `replication: 'database'` (callers that build their own pg config). */
  static async fromClient(client: pg.Client, logger: Logger = silentLogger, place = 'source database'): Promise<ReplicationConnection> {
    const server = await readServerInfo(client);
    return new ReplicationConnection(client, server, place, logger);
  }

  /** The walsender's process id (BackendKeyData): what pg_replication_slots.active_pid shows while this session streams. */
  get backendPid(): number | undefined {
    const pid = (this.client as unknown as { processID?: number | null }).processID;
    return typeof pid === 'number' ? pid : undefined;
  }

  /** IDENTIFY_SYSTEM: system id, timeline and current WAL position (PostgreSQL only; not needed by the stream). */
  async identifySystem(): Promise<SystemIdentity> {
    const result = await this.command<{ systemid: string; timeline: string | number; xlogpos: string; dbname: string | null }>(
      'IDENTIFY_SYSTEM',
      'identifying the system',
    );
    const row = result.rows[0];
    if (row === undefined) throw new ReplicationError('protocol', 'IDENTIFY_SYSTEM returned no row.');
    return { systemId: row.systemid, timeline: Number(row.timeline), walFlushLsn: parseLsn(row.xlogpos), database: row.dbname ?? undefined };
  }

  /**
   * Creates a logical pgoutput slot. With snapshot 'export' (the default) the returned snapshot is
   * the state of the database exactly at `consistentPoint`: read the snapshot under it and stream
   * from `consistentPoint`, and nothing is missed or doubled (invariant 1). Keep this connection
   * open and idle until every reader has joined the snapshot, then call releaseSnapshot().
   */
  async createSlot(slotName: string, options: CreateSlotOptions = {}): Promise<CreatedSlot> {
    const text = createSlotCommand(slotName, options, this.server);
    const result = await this.command<{ slot_name: string; consistent_point: string; snapshot_name: string | null; output_plugin: string }>(
      text,
      `creating replication slot "${slotName}"`,
      slotName,
    );
    const row = result.rows[0];
    if (row === undefined) throw new ReplicationError('protocol', `CREATE_REPLICATION_SLOT ${slotName} returned no row.`);
    const created: CreatedSlot = {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name ?? undefined,
      outputPlugin: row.output_plugin,
    };
    if (created.snapshotName !== undefined) this.heldSnapshot = created.snapshotName;
    this.logger.info(
      `Created replication slot "${created.slotName}" at ${formatLsn(created.consistentPoint)}` +
        (created.snapshotName === undefined ? '.' : ` with snapshot ${created.snapshotName}.`),
    );
    return created;
  }

  /** Says that the exported snapshot is no longer needed (every reader joined it); other commands may run again. */
  releaseSnapshot(): void {
    this.heldSnapshot = undefined;
  }

  /** The exported snapshot this connection still holds, if any. */
  get snapshotHeld(): string | undefined {
    return this.heldSnapshot;
  }

  /**
   * Drops a slot; false when it did not exist. With `wait`, a slot still held by an ending session
   * (a killed consumer's walsender) is waited for instead of failing with 'slot-in-use'.
   */
  async dropSlot(slotName: string, options: { wait?: boolean } = {}): Promise<boolean> {
    const text = dropSlotCommand(slotName, options.wait ?? false);
    try {
      await this.command(text, `dropping replication slot "${slotName}"`, slotName);
      this.logger.info(`Dropped replication slot "${slotName}".`);
      return true;
    } catch (error) {
      if (error instanceof ReplicationError && error.reason === 'slot-missing') return false;
      throw error;
    }
  }

  /** The slot's row in pg_replication_slots; undefined when it does not exist. */
  async readSlot(slotName: string): Promise<SlotState | undefined> {
    this.assertFree('reading the slot state');
    try {
      return await readSlotState(this.client, slotName);
    } catch (error) {
      throw toReplicationError(error, { what: `reading the state of slot "${slotName}"`, slotName });
    }
  }

  /**
   * Starts streaming from a slot: checks first that it exists and is not invalidated (so a lost
   * slot is reported as such), then START_REPLICATION. Resolves once the server streams; the
   * returned stream occupies this connection until its stop() resolves. A walsender serves one
   * logical stream per session (a second START_REPLICATION ends at once), so streaming again needs
   * a new connection; other commands (dropSlot, readSlot) still run after stop().
   */
  async startReplication(options: StreamOptions): Promise<ReplicationStream> {
    const what = `starting replication from slot "${options.slotName}"`;
    const text = startReplicationCommand(options, this.server);
    this.assertFree(what);
    if (this.streamed) {
      throw new ReplicationError('not-supported', `This replication connection already ran a stream; open a new connection to stream from slot "${options.slotName}" again.`);
    }
    let timing: ReplicationStreamTiming;
    let slot: SlotState;
    try {
      const before = await readSlotBeforeStreaming(this.client, options.slotName);
      slot = assertSlotUsable(before.slot, options.slotName);
      timing = this.streamTiming(options.timing, durationMs(before.walSenderTimeout));
    } catch (error) {
      throw toReplicationError(error, { what, slotName: options.slotName });
    }
    const stream = new ReplicationStream(text, options.slotName, timing, this.logger, slot);
    this.stream = stream;
    this.streamed = true;
    this.client.query(stream.submittable);
    try {
      await stream.started;
    } catch (error) {
      this.stream = undefined;
      throw toReplicationError(error, { what, slotName: options.slotName });
    }
    stream.finished.then(
      () => this.streamEnded(stream),
      () => this.streamEnded(stream),
    );
    this.logger.info(`Streaming from replication slot "${options.slotName}" at ${formatLsn(options.startLsn)}.`);
    return stream;
  }

  /** Ends the session: stops a running stream first. Never throws. */
  async close(): Promise<void> {
    if (this.stream !== undefined) await this.stream.stop();
    this.heldSnapshot = undefined;
    await this.client.end().catch((error: unknown) => this.logger.debug(`closing the replication connection: ${describeError(error)}`));
  }

  /** Closes a session still opening (or open) that nobody took; one that failed to open needs nothing. Never throws. */
  static async closeOpening(opening: Promise<ReplicationConnection> | undefined): Promise<void> {
    await opening?.then((session) => session.close(), () => undefined);
  }

  /** Closes the socket at once (what a crash does; the server keeps the slot). */
  destroy(): void {
    this.stream?.destroy();
    this.client.connection.stream.destroy();
  }

  // The server ends a session that sends nothing for wal_sender_timeout. The status updates repeat
  // the confirmed positions, so by default they come at least three times per timeout, whatever
  // the consumer's pace; an interval the owner chose is kept, with a warning when it is too long.
  private streamTiming(requested: Partial<ReplicationStreamTiming> | undefined, serverTimeoutMs: number | undefined): ReplicationStreamTiming {
    const timing = { ...DEFAULT_STREAM_TIMING, ...requested };
    if (serverTimeoutMs === undefined) return timing;
    if (requested?.statusIntervalMs === undefined) {
      timing.statusIntervalMs = Math.min(timing.statusIntervalMs, Math.max(100, Math.floor(serverTimeoutMs / 3)));
    } else if (timing.statusIntervalMs >= serverTimeoutMs / 2) {
      this.logger.warn(
        `The replication status interval (${timing.statusIntervalMs} ms) is not well below the server's wal_sender_timeout (${serverTimeoutMs} ms): the stream depends on answering keepalives.`,
      );
    }
    return timing;
  }

  private streamEnded(stream: ReplicationStream): void {
    if (this.stream === stream) this.stream = undefined;
  }

  private async command<R extends Record<string, unknown>>(text: string, what: string, slotName?: string): Promise<pg.QueryResult<R>> {
    this.assertFree(what);
    try {
      return await this.client.query<R>(text);
    } catch (error) {
      throw toReplicationError(error, { what, slotName });
    }
  }

  private assertFree(what: string): void {
    if (this.stream !== undefined) {
      throw new GodwitError(`Cannot run a command (${what}) on the replication connection to the ${this.place}: a stream is running on it; stop it first.`);
    }
    if (this.heldSnapshot !== undefined) {
      throw new GodwitError(
        `Cannot run a command (${what}) on the replication connection to the ${this.place} while it holds the exported snapshot ${this.heldSnapshot}: the command would end the snapshot.`,
        { hint: 'Call releaseSnapshot() once every snapshot reader has joined it, or use another connection.' },
      );
    }
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

// A time setting as SHOW prints it ('60s', '1min', '500ms', '0'); undefined for 0 (no timeout) or unparsable.
function durationMs(text: string | undefined): number | undefined {
  const match = /^(\d+)\s*(ms|s|min|h|d)?$/.exec(text?.trim() ?? '');
  if (match === null) return undefined;
  const value = Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  return value > 0 ? value : undefined;
}
