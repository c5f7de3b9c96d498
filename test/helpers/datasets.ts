// The public sample databases in ../shared/datasets (absent in a user's clone: tests skip then).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));

export const PAGILA_SCHEMA = `${root}pagila/pagila-schema.sql`;
export const PAGILA_DATA = `${root}pagila/pagila-data.sql`;
export const CHINOOK = `${root}chinook/Chinook_PostgreSql.sql`;

/** True when ../shared/datasets is beside the checkout. */
export const HAVE_DATASETS = existsSync(PAGILA_SCHEMA) && existsSync(CHINOOK);

/** Chinook's script creates its own database; this is the part after its `\c chinook;`, for any database. */
export function chinookBody(): string {
  const text = readFileSync(CHINOOK, 'utf8');
  const marker = text.indexOf('\\c chinook;');
  if (marker === -1) throw new Error('unexpected Chinook script: no \\c chinook;');
  return text.slice(marker + '\\c chinook;'.length);
}
