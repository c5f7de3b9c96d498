import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockError, UsageError } from '../../src/core/errors.js';
import { LAYOUT_DIRECTORIES, openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { acquireCommandLock } from '../../src/state/lock.js';
import { applyStartClean, planStartClean } from '../../src/state/start-clean.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { assertBuilt, event, startFixture, tempDir, type Child } from './child-helpers.js';

function touch(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'x');
  return path;
}

describe('--start-clean', () => {
  let base: { path: string; cleanup: () => void };
  let dir: ExportDir;
  let store: MigrationStore;
  const children: Child[] = [];

  beforeEach(() => {
    base = tempDir('start-clean');
    dir = openExportDir(join(base.path, 'export'));
    store = openStore(dir.storeFile);
    // Something of every command in the directory.
    touch(join(dir.schemaDir, 'tables', 'table.sql'));
    touch(join(dir.schemaDir, 'sequences', 'sequence.sql'));
    touch(dir.schemaDumpFile);
    touch(join(dir.tempDir, 'other-tool-scratch'));
    touch(join(dir.reportsDir, 'schema_analysis_report.html'));
    touch(join(dir.reportsDir, 'schema_analysis_report.json'));
    touch(join(dir.reportsDir, 'data_migration_report.json'));
    touch(join(dir.dataDir, 'public.orders.0.csv'));
    touch(join(dir.dataDir, 'snapshot', 'public.items.csv'));
    touch(join(dir.queueDir, 'segment.1.ndjson'));
    touch(join(dir.assessmentReportsDir, 'migration_assessment_report.html'));
    touch(join(dir.assessmentMetadataDir, 'sizes.json'));
    touch(dir.logFile('export-data-from-source'));
    for (const phase of ['export-schema', 'analyze-schema', 'export-data-from-source', 'assess-migration', 'import-schema']) {
      store.setPhaseStatus(phase, 'done');
    }
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    store.close();
    base.cleanup();
  });

  it('plans exactly what each command owns', () => {
    const rel = (command: string) => planStartClean(dir, command).paths.map((path) => path.slice(dir.root.length + 1));
    expect(rel('export-schema')).toEqual(['schema/sequences', 'schema/tables', 'temp/schema.sql']);
    expect(rel('analyze-schema')).toEqual(['reports/schema_analysis_report.html', 'reports/schema_analysis_report.json']);
    expect(rel('export-data-from-source')).toEqual(['data/public.orders.0.csv', 'data/queue/segment.1.ndjson', 'data/snapshot']);
    expect(rel('assess-migration')).toEqual(['assessment/metadata/sizes.json', 'assessment/reports/migration_assessment_report.html']);
    expect(planStartClean(dir, 'export-data-from-source')).toMatchObject({
      command: 'export-data-from-source',
      root: dir.root,
      phases: ['export-data-from-source'],
    });
    // planning changes nothing
    expect(existsSync(join(dir.queueDir, 'segment.1.ndjson'))).toBe(true);
  });

  it('refuses a command that has no --start-clean', () => {
    expect(() => planStartClean(dir, 'cutover-status')).toThrow(UsageError);
  });

  it('removes the planned paths, keeps the layout and the rest, and resets the phases', () => {
    const plan = planStartClean(dir, 'export-data-from-source');
    applyStartClean(dir, store, plan);
    expect(readdirSync(dir.dataDir)).toEqual(['queue']);
    expect(readdirSync(dir.queueDir)).toEqual([]);
    expect(store.getPhaseStatus('export-data-from-source')).toMatchObject({ state: 'not-started', detail: 'reset by --start-clean' });
    expect(store.getPhaseStatus('export-schema').state).toBe('done');
    expect(existsSync(join(dir.schemaDir, 'tables', 'table.sql'))).toBe(true);
    expect(existsSync(dir.logFile('export-data-from-source'))).toBe(true);

    applyStartClean(dir, store, planStartClean(dir, 'export-schema'));
    expect(readdirSync(dir.schemaDir)).toEqual([]);
    expect(readdirSync(dir.tempDir)).toEqual(['other-tool-scratch']);
    applyStartClean(dir, store, planStartClean(dir, 'analyze-schema'));
    expect(readdirSync(dir.reportsDir)).toEqual(['data_migration_report.json']);
    applyStartClean(dir, store, planStartClean(dir, 'assess-migration'));
    expect(readdirSync(dir.assessmentDir).sort()).toEqual(['metadata', 'reports']);
    expect(readdirSync(dir.assessmentReportsDir)).toEqual([]);
    for (const relative of LAYOUT_DIRECTORIES) expect(existsSync(join(dir.root, relative))).toBe(true);
    expect(store.getPhaseStatus('import-schema').state).toBe('done');
    expect(planStartClean(dir, 'export-data-from-source').paths).toEqual([]);
  });

  it('runs under the lock the command already holds', () => {
    const lock = acquireCommandLock(dir, 'export-schema');
    try {
      applyStartClean(dir, store, planStartClean(dir, 'export-schema'));
      expect(readdirSync(dir.schemaDir)).toEqual([]);
      expect(lock.held).toBe(true);
    } finally {
      lock.release();
    }
  });

  it('refuses while another process holds the command lock', async () => {
    assertBuilt();
    const holder = startFixture('state-lock-holder.mjs', [dir.root, 'export-data-from-source']);
    children.push(holder);
    await holder.waitForLine((line) => line.startsWith('{') && event(line)['event'] === 'acquired');
    const plan = planStartClean(dir, 'export-data-from-source');
    expect(() => applyStartClean(dir, store, plan)).toThrow(LockError);
    expect(() => applyStartClean(dir, store, plan)).toThrow(`pid ${holder.pid} on host`);
    expect(existsSync(join(dir.queueDir, 'segment.1.ndjson'))).toBe(true);
    expect(store.getPhaseStatus('export-data-from-source').state).toBe('done');
  });
});
