// The capture pipeline (replication stream -> durable change queue): what the export command and the
// fall-back exporter call. See run-capture.ts for the rules it keeps.

export { runCapture, type CaptureEnd, type CaptureQueue, type CaptureResult, type RunCaptureOptions } from './run-capture.js';
export type { CaptureStream, StreamItem, StreamMessage, StreamRelation, StreamColumnValue } from './capture-stream.js';
export { CaptureStoppedError, type CaptureStopReason } from './capture-errors.js';
export type { CaptureMetrics, TableChangeCounts } from './capture-metrics.js';
export { DEFAULT_GROUP_COMMIT, type GroupCommitOptions } from './group-commit.js';
export type { ExpectedColumns } from './relation-guard.js';
