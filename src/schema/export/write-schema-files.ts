// Writes the split schema into `schema/` all at once: everything goes to a fresh folder first, is
// fsynced, and then replaces the old `schema/`, so a killed export never leaves half the files.

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StateError, describeError } from '../../core/errors.js';
import type { ExportDir } from '../../state/export-dir.js';
import { SCHEMA_MANIFEST_FILE, type SchemaManifest } from '../schema-files.js';
import { renderSchemaFile, type SplitSchema } from './split-schema.js';

/** Facts about the export that the manifest records beside the statements. */
export interface ManifestFacts {
  createdAt: string;
  sourceServerVersion: string;
  pgDumpVersion: string;
  schemas: string[];
}

/** Builds the manifest of a split schema (pure). */
export function buildManifest(split: SplitSchema, facts: ManifestFacts): SchemaManifest {
  return {
    formatVersion: 1,
    ...facts,
    sessionSettings: split.sessionSettings,
    files: split.files.map((file) => ({ path: file.path, statements: file.statements.map((s) => s.manifest) })),
  };
}

function writeDurably(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `schema/` with the split files and their manifest; returns the paths written. */
export function writeSchemaFiles(dir: ExportDir, split: SplitSchema, manifest: SchemaManifest): string[] {
  const staging = join(dir.tempDir, `schema-new-${process.pid}`);
  const previous = join(dir.tempDir, `schema-old-${process.pid}`);
  try {
    rmSync(staging, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
    const written: string[] = [];
    for (const file of split.files) {
      writeDurably(join(staging, file.path), renderSchemaFile(file));
      fsyncDirectory(dirname(join(staging, file.path)));
      written.push(join(dir.schemaDir, file.path));
    }
    writeDurably(join(staging, SCHEMA_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDirectory(staging);
    renameSync(dir.schemaDir, previous);
    renameSync(staging, dir.schemaDir);
    fsyncDirectory(dir.root);
    rmSync(previous, { recursive: true, force: true });
    return written;
  } catch (error) {
    throw new StateError(`Cannot write the schema files into ${dir.schemaDir}: ${describeError(error)}`, {
      cause: error,
      hint: 'Check the free space and permissions of the export directory, then run export schema again.',
    });
  }
}
