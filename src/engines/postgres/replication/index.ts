// The PostgreSQL change-capture engine: a logical replication client whose acknowledgements only the
// owner moves (replication-stream.ts), and the pgoutput decoder. The capture pipeline builds on this.

export { ReplicationConnection, type CreatedSlot, type StreamOptions, type SystemIdentity } from './replication-connection.js';
export {
  DEFAULT_STREAM_TIMING,
  ReplicationStream,
  type ReplicationMessage,
  type ReplicationStreamStats,
  type ReplicationStreamTiming,
  type XLogDataMessage,
} from './replication-stream.js';
export { assertSlotName, type CreateSlotOptions, type SlotSnapshotAction, type StartReplicationOptions } from './replication-commands.js';
export { checkSlotUsable, isInvalidated, readSlotState, type SimpleQuerySession, type SlotState } from './slot-state.js';
export { ReplicationError, type ReplicationFailureReason } from './replication-errors.js';
export type { KeepaliveFrame } from './replication-frames.js';
export { PgoutputDecoder } from './pgoutput-decoder.js';
export { RelationCache, type TypeInfo } from './relation-cache.js';
export * from './pgoutput-messages.js';
