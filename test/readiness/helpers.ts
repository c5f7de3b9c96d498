// Shared by the readiness tests: run the check through a real connection as a chosen user, pick
// findings by code and object, make uniquely named roles that are dropped afterwards, and run a
// finding's fix SQL exactly as the report prints it.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import type { DatabaseSettings } from '../../src/core/database-settings.js';
import {
  readinessReport,
  type CaptureReadinessInput,
  type ReadinessCode,
  type ReadinessFinding,
  type ReadinessReport,
} from '../../src/engines/capture-readiness.js';
import { connect } from '../../src/engines/postgres/connect.js';
import { checkPostgresCaptureReadiness } from '../../src/engines/postgres/readiness/check-readiness.js';
import type { CatalogName } from '../../src/engines/source-catalog.js';

/** A unique lower-case name (slots accept nothing else). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** `public.<name>` for each name. */
export function publicTables(...names: string[]): CatalogName[] {
  return names.map((name) => ({ schema: 'public', name }));
}

/** Connects with `settings` the way every godwit command does and runs the check. */
export async function checkReadiness(
  settings: DatabaseSettings,
  input: Partial<CaptureReadinessInput> & Pick<CaptureReadinessInput, 'tables'>,
): Promise<ReadinessReport> {
  const { client, server } = await connect(settings, { applicationName: 'godwit readiness test', retry: { attempts: 1 } });
  try {
    return await checkPostgresCaptureReadiness(
      client,
      server,
      { slotName: uniqueName('godwit_none'), publicationName: uniqueName('godwit_none'), resume: false, ...input },
      { role: settings.role },
    );
  } finally {
    await client.end();
  }
}

/**
 * The check on the shared harness server, without its server-wide setting findings: other test files
 * take slots and WAL senders there at the same time, so those are tested on a private server
 * (server-readiness.test.ts) and left out here to keep these tests deterministic.
 */
export async function checkOnSharedServer(
  settings: DatabaseSettings,
  input: Partial<CaptureReadinessInput> & Pick<CaptureReadinessInput, 'tables'>,
): Promise<ReadinessReport> {
  const report = await checkReadiness(settings, input);
  const { ready: _ready, findings, ...fields } = report;
  return readinessReport(fields, findings.filter((finding) => finding.object.kind !== 'setting'));
}

/** The findings with `code`, optionally only those about the object named exactly `name`. */
export function findingsOf(report: ReadinessReport, code: ReadinessCode, name?: string): ReadinessFinding[] {
  return report.findings.filter((finding) => finding.code === code && (name === undefined || finding.object.name === name));
}

/** The one finding with `code` about `name`; fails the test when there is not exactly one. */
export function oneFinding(report: ReadinessReport, code: ReadinessCode, name: string): ReadinessFinding {
  const found = findingsOf(report, code, name);
  expect(found, `${code} on ${name} in:\n${report.findings.map((f) => `${f.code} ${f.object.name}`).join('\n')}`).toHaveLength(1);
  return found[0] as ReadinessFinding;
}

/** The codes of a report's blockers, sorted. */
export function blockerCodes(report: ReadinessReport): string[] {
  return report.findings
    .filter((finding) => finding.severity === 'blocker')
    .map((finding) => finding.code)
    .sort();
}

/** Runs one fix's statements, in order, on `client` (as written in the report). */
export async function applyFix(client: pg.ClientBase, finding: ReadinessFinding, fixIndex = 0): Promise<void> {
  const fix = finding.fixes[fixIndex];
  if (fix === undefined) throw new Error(`${finding.code} has no fix ${fixIndex}`);
  expect(fix.sql.length, `fix ${fixIndex} of ${finding.code} is SQL`).toBeGreaterThan(0);
  for (const statement of fix.sql) await client.query(statement);
}

/** Awaits a promise that must fail and returns its error. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure, got success');
    },
    (error: unknown) => error,
  );
}
