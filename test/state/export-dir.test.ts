import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../../src/core/errors.js';
import { LAYOUT_DIRECTORIES, exportDirLayout, isGodwitExportDir, openExportDir } from '../../src/state/export-dir.js';
import { openStore } from '../../src/state/store.js';
import { assertBuilt, event, startFixture, tempDir } from './child-helpers.js';

describe('export directory', () => {
  let base: { path: string; cleanup: () => void };
  beforeEach(() => {
    base = tempDir('export-dir');
  });
  afterEach(() => base.cleanup());

  it('creates a missing directory with the whole layout and a store', () => {
    const dir = openExportDir(join(base.path, 'migration'));
    for (const relative of LAYOUT_DIRECTORIES) expect(statSync(join(dir.root, relative)).isDirectory()).toBe(true);
    expect(dir.queueDir).toBe(join(base.path, 'migration', 'data', 'queue'));
    expect(dir.assessmentReportsDir).toBe(join(base.path, 'migration', 'assessment', 'reports'));
    expect(dir.assessmentMetadataDir).toBe(join(base.path, 'migration', 'assessment', 'metadata'));
    expect(dir.logFile('export-data-from-source')).toBe(join(dir.logsDir, 'export-data-from-source.log'));
    expect(dir.lockInfoFile('import-data-to-target')).toBe(join(dir.metainfoDir, 'locks', 'import-data-to-target.lock'));
    expect(dir.storeFile).toBe(join(dir.metainfoDir, 'godwit.db'));
    expect(isGodwitExportDir(dir)).toBe(true);
    // nothing else is left in the root (no write probe)
    expect(readdirSync(dir.root).sort()).toEqual(['assessment', 'data', 'logs', 'metainfo', 'reports', 'schema', 'temp']);
  });

  it('uses an existing empty directory', () => {
    const path = join(base.path, 'empty');
    mkdirSync(path);
    const dir = openExportDir(path);
    expect(isGodwitExportDir(dir)).toBe(true);
  });

  it('refuses a path whose parent does not exist, naming the parent', () => {
    const parent = join(base.path, 'no', 'such');
    const attempt = () => openExportDir(join(parent, 'migration'));
    expect(attempt).toThrow(StateError);
    expect(attempt).toThrow(`The parent directory of the export directory does not exist: ${parent}`);
    expect(existsSync(join(base.path, 'no'))).toBe(false);
  });

  it('refuses a file', () => {
    const path = join(base.path, 'a-file');
    writeFileSync(path, 'hello');
    expect(() => openExportDir(path)).toThrow(`The export directory ${path} is a file, not a directory.`);
  });

  it('refuses a non-empty directory that is not a godwit export directory', () => {
    const path = join(base.path, 'home');
    mkdirSync(path);
    writeFileSync(join(path, 'notes.txt'), 'precious');
    let caught: unknown;
    try {
      openExportDir(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateError);
    expect((caught as StateError).message).toContain(`${path} is not empty and is not a godwit export directory`);
    expect((caught as StateError).hint).toContain('Choose an empty directory');
    expect(readdirSync(path)).toEqual(['notes.txt']);
  });

  it('accepts a directory left with only an empty layout by an interrupted creation', () => {
    const path = join(base.path, 'partial');
    mkdirSync(join(path, 'data', 'queue'), { recursive: true });
    mkdirSync(join(path, 'metainfo'));
    expect(isGodwitExportDir(openExportDir(path))).toBe(true);
  });

  it('refuses, without create, a directory that is missing or not an export dir', () => {
    expect(() => openExportDir(join(base.path, 'missing'), { create: false })).toThrow('does not exist');
    expect(() => openExportDir(base.path, { create: false })).toThrow('is not a godwit export directory');
  });

  it('keeps the same migration id when reopened', () => {
    const path = join(base.path, 'migration');
    const first = openExportDir(path);
    const store1 = openStore(first.storeFile);
    const id = store1.getMigrationId();
    store1.close();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    writeFileSync(join(first.schemaDir, 'table.sql'), 'CREATE TABLE t ();');
    const second = openExportDir(path);
    const store2 = openStore(second.storeFile);
    expect(store2.getMigrationId()).toBe(id);
    store2.close();
    expect(existsSync(join(second.schemaDir, 'table.sql'))).toBe(true);
  });

  it('rejects command names that could escape the layout', () => {
    const dir = exportDirLayout(base.path);
    expect(() => dir.logFile('../../etc/passwd')).toThrow(StateError);
    expect(() => dir.lockDbFile('Export Data')).toThrow(StateError);
  });

  it('refuses a directory it cannot write', async () => {
    assertBuilt();
    const readOnly = join(base.path, 'read-only');
    mkdirSync(readOnly);
    chmodSync(base.path, 0o755);
    chmodSync(readOnly, 0o555);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) chownSync(readOnly, 0, 0);
    // root writes anywhere: run the check as an unprivileged user in that case
    const options = isRoot ? { uid: 65534, gid: 65534 } : {};
    const existing = startFixture('state-open-export-dir.mjs', [readOnly], options);
    const missing = startFixture('state-open-export-dir.mjs', [join(readOnly, 'new')], options);
    const existingResult = event(await existing.waitForLine((line) => line.startsWith('{')));
    const missingResult = event(await missing.waitForLine((line) => line.startsWith('{')));
    expect(existingResult).toMatchObject({ ok: false, name: 'StateError' });
    expect(existingResult['message']).toContain(`Cannot write in the export directory ${readOnly}`);
    expect(missingResult).toMatchObject({ ok: false, name: 'StateError' });
    expect(missingResult['message']).toContain(`Cannot create the export directory ${join(readOnly, 'new')}`);
  });
});
