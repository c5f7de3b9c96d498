// Is a database ready for live change capture? The engine-neutral contract of that check (DESIGN.md
// section 5: "a source that is not ready ... say what to change, before anything is created"): the
// findings with stable codes, their severity, the object each concerns and the exact fix, plus the
// one-line-per-finding text form the CLI prints. `export data from source --export-type
// snapshot-and-changes` checks the source before it creates its publication and slot; `export data
// from target` (fall-back) checks the target acting as a source; `assess-migration` reports it.
// Each engine (PostgreSQL, YugabyteDB) implements CaptureReadinessChecker; the pipeline sees only this.

import { NotReadyError, type DatabaseRole } from '../core/errors.js';
import type { CatalogName } from './source-catalog.js';

/** blocker: nothing may be created until it is fixed; warning: works, at a cost or a risk; info: worth knowing. */
export type ReadinessSeverity = 'blocker' | 'warning' | 'info';

/** Every finding code with its severity; codes are stable (scripts and tests match them), one severity each. */
export const READINESS_CODES = {
  /** The server is a standby: the publication (and, before PostgreSQL 16, the slot) needs the primary. */
  SERVER_IN_RECOVERY: 'blocker',
  /** `wal_level` is not `logical`: logical decoding is impossible. */
  WAL_LEVEL_NOT_LOGICAL: 'blocker',
  /** `max_replication_slots` leaves no slot for godwit. */
  NO_FREE_REPLICATION_SLOT: 'blocker',
  /** `max_wal_senders` leaves no WAL sender for godwit's stream. */
  NO_FREE_WAL_SENDER: 'blocker',
  /** The user is neither superuser nor has the REPLICATION attribute (walsender, slot). */
  MISSING_REPLICATION_PRIVILEGE: 'blocker',
  /** The user may not CREATE in the database (CREATE PUBLICATION). */
  MISSING_CREATE_PRIVILEGE: 'blocker',
  /** The user does not own a table the publication must name (CREATE PUBLICATION ... FOR TABLE). */
  NOT_TABLE_OWNER: 'blocker',
  /** The user may not read a selected table (the snapshot). */
  MISSING_SELECT_PRIVILEGE: 'blocker',
  /** A selected table does not exist. */
  TABLE_NOT_FOUND: 'blocker',
  /** UPDATE and DELETE of a table cannot be streamed: no replica identity that identifies a row. */
  TABLE_WITHOUT_REPLICA_IDENTITY: 'blocker',
  /** A partition's replica identity does not log what its root's identity (under which it is published) names as the key. */
  REPLICA_IDENTITY_MISMATCH: 'blocker',
  /** An unlogged table writes no WAL: its changes are never captured (and it cannot be published). */
  UNLOGGED_TABLE: 'blocker',
  /** A slot with godwit's name exists that this run cannot use. */
  EXISTING_SLOT: 'blocker',
  /** godwit's slot is held by another process. */
  SLOT_IN_USE: 'blocker',
  /** godwit's slot was invalidated: the WAL it needed is gone. */
  SLOT_INVALIDATED: 'blocker',
  /** Resuming, but godwit's slot is gone. */
  SLOT_MISSING: 'blocker',
  /** A publication with godwit's name exists that this run cannot use. */
  EXISTING_PUBLICATION: 'blocker',
  /** Resuming, but godwit's publication is gone. */
  PUBLICATION_MISSING: 'blocker',
  /** REPLICA IDENTITY FULL: works, but logs whole old rows and matches rows by every column. */
  REPLICA_IDENTITY_FULL_COST: 'warning',
  /** `max_slot_wal_keep_size` is low: a slot that falls behind is invalidated. */
  MAX_SLOT_WAL_KEEP_SIZE: 'warning',
  /** Stored generated columns are not streamed before PostgreSQL 18; the target computes them. */
  GENERATED_COLUMNS_NOT_STREAMED: 'info',
  /** Resuming from godwit's existing slot. */
  SLOT_RESUMED: 'info',
  /** Reusing godwit's existing publication. */
  PUBLICATION_REUSED: 'info',
  /** Checks that do not apply to this engine were skipped (named in the message). */
  CHECKS_SKIPPED: 'info',
} as const satisfies Record<string, ReadinessSeverity>;

/** A finding code: one of READINESS_CODES. */
export type ReadinessCode = keyof typeof READINESS_CODES;

/** What a finding is about; `name` is quoted as SQL writes it (`"app"."Orders"`, `"migrator"`, `wal_level`). */
export interface ReadinessObject {
  kind: 'server' | 'setting' | 'role' | 'database' | 'table' | 'slot' | 'publication';
  name: string;
}

/** One way to fix a finding: statements to run exactly as written, and what else to do or know. */
export interface ReadinessFix {
  /** SQL statements in order, without trailing semicolons; empty when the fix is not SQL. */
  sql: string[];
  /** The server must be restarted before the change takes effect. */
  restart?: boolean;
  /** What else to do or know, in words (the cost of this fix, a step that is not SQL). */
  note?: string;
}

/** One thing found; `fixes` are alternatives, best first (none for a note that needs no action). */
export interface ReadinessFinding {
  code: ReadinessCode;
  severity: ReadinessSeverity;
  object: ReadinessObject;
  /** What is wrong and what it means for the migration. */
  message: string;
  fixes: ReadinessFix[];
}

/** The result of one check, findings sorted blockers first. */
export interface ReadinessReport {
  /** Which side of the migration was checked as a capture source (the target during fall-back). */
  role: DatabaseRole;
  database: string;
  user: string;
  /** `version()` of the server. */
  serverVersion: string;
  /** ISO time of the check. */
  checkedAt: string;
  /** True when there is no blocker. */
  ready: boolean;
  findings: ReadinessFinding[];
}

/** What to check: the tables to capture, and the names of the publication and slot godwit will use. */
export interface CaptureReadinessInput {
  /**
   * The selected tables: the catalog's SourceTable list or bare names. Partitioned tables stand for
   * their partitions, which are checked too (the leaves carry the rows and their replica identity).
   */
  tables: readonly CatalogName[];
  /** The logical replication slot godwit creates (or resumes). */
  slotName: string;
  /** The publication godwit creates (or reuses). */
  publicationName: string;
  /**
   * The migration already created its slot and publication (a restart): finding them is expected
   * and missing is a blocker. Otherwise finding them is a conflict.
   */
  resume: boolean;
  /**
   * The pid of a walsender of this very run that already streams from the slot (a restart starts its
   * stream beside the checks): the slot held by it is not "in use" by someone else.
   */
  ownSenderPid?: number;
  /** `max_slot_wal_keep_size` below this many bytes is a warning; default 16 GiB. */
  slotWalKeepWarningBytes?: number;
}

/** Checks one database; each engine provides one, bound to an open connection. */
export interface CaptureReadinessChecker {
  checkCaptureReadiness(input: CaptureReadinessInput): Promise<ReadinessReport>;
}

/** The default threshold of the MAX_SLOT_WAL_KEEP_SIZE warning. */
export const DEFAULT_SLOT_WAL_KEEP_WARNING_BYTES = 16 * 1024 ** 3;

/** Builds a finding with its code's severity, so no check can give a code another severity. */
export function readinessFinding(
  code: ReadinessCode,
  object: ReadinessObject,
  message: string,
  fixes: ReadinessFix[] = [],
): ReadinessFinding {
  return { code, severity: READINESS_CODES[code], object, message, fixes };
}

const SEVERITY_RANK: Record<ReadinessSeverity, number> = { blocker: 0, warning: 1, info: 2 };

/** Assembles a report: blockers first, then warnings, then notes, each group in the order found. */
export function readinessReport(fields: Omit<ReadinessReport, 'ready' | 'findings'>, findings: ReadinessFinding[]): ReadinessReport {
  const sorted = findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => SEVERITY_RANK[a.finding.severity] - SEVERITY_RANK[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
  return { ...fields, ready: !sorted.some((finding) => finding.severity === 'blocker'), findings: sorted };
}

/** The report without the findings of `code`: a check the caller answered another way (an open session that holds what it looked for). */
export function withoutFinding(report: ReadinessReport, code: ReadinessCode): ReadinessReport {
  const findings = report.findings.filter((finding) => finding.code !== code);
  return { ...report, findings, ready: !findings.some((finding) => finding.severity === 'blocker') };
}

/** The blockers of a report, for callers that decide whether to go on. */
export function readinessBlockers(report: ReadinessReport): ReadinessFinding[] {
  return report.findings.filter((finding) => finding.severity === 'blocker');
}

/** One fix as text: its statements, the restart, its note. */
export function renderFix(fix: ReadinessFix): string {
  const parts: string[] = [];
  if (fix.sql.length > 0) parts.push(fix.sql.map((statement) => `${statement};`).join(' '));
  if (fix.restart === true) parts.push(parts.length > 0 ? 'then restart the server' : 'restart the server');
  const text = parts.join(' ');
  if (fix.note === undefined) return text;
  return text === '' ? fix.note : `${text} (${fix.note})`;
}

/** One finding on one line: severity, code, object, message, and the fixes as alternatives. */
export function renderFinding(finding: ReadinessFinding): string {
  const fixes = finding.fixes.map(renderFix).filter((text) => text !== '');
  const fixText = fixes.length === 0 ? '' : ` Fix: ${fixes.join(' | or: ')}`;
  return `${finding.severity.toUpperCase().padEnd(7)} ${finding.code} ${finding.object.kind} ${finding.object.name}: ${finding.message}${fixText}`;
}

/** The report as text for the terminal: a summary line, then one line per finding, blockers first. */
export function renderReadinessReport(report: ReadinessReport): string {
  const count = (severity: ReadinessSeverity): number => report.findings.filter((f) => f.severity === severity).length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const verdict = report.ready ? 'ready for change capture' : 'NOT ready for change capture';
  const summary =
    `The ${report.role} database "${report.database}" (user "${report.user}") is ${verdict}: ` +
    `${plural(count('blocker'), 'blocker')}, ${plural(count('warning'), 'warning')}, ${plural(count('info'), 'note')}.`;
  return [summary, ...report.findings.map(renderFinding)].join('\n');
}

/**
 * Throws NotReadyError (exit code 7) listing every finding when the report has a blocker: the
 * one call a command makes between the check and creating its publication and slot.
 */
export function assertCaptureReady(report: ReadinessReport): void {
  if (report.ready) return;
  throw new NotReadyError(renderReadinessReport(report), {
    hint: 'Fix the blockers above (each line says how) and run the command again; godwit has created nothing yet.',
  });
}
