// The declarative description of one setting. The same spec drives the command-line flag, the key
// in the YAML config file, value validation and the help text, so the three can never disagree.

// zod/mini: the same library with functions in place of methods, so a bundle keeps only what is used.
// The classic API pulled all of zod (about 800 KB, two fifths of the bundled CLI) into every
// command's start: parsed, and its locales set up, before anything else ran.
import * as z from 'zod/mini';
import {
  IdentifierSyntaxError,
  parseIdentifierList,
  parseQualifiedNameList,
  type QualifiedName,
} from '../core/identifiers.js';

export type OptionKind =
  | { type: 'string' }
  | { type: 'path' }
  | { type: 'secret' }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'enum'; choices: readonly string[] }
  | { type: 'identifier-list' }
  | { type: 'table-list' }
  | { type: 'word-list' };

/** The typed value of each kind after validation. */
export type OptionValue = string | number | boolean | string[] | QualifiedName[];

/** One setting: its flag/key name, what values it takes, its default and its help text. */
export interface OptionSpec {
  /** Flag name without dashes, also the config-file key (`parallel-jobs`). */
  name: string;
  kind: OptionKind;
  description: string;
  default?: OptionValue;
  /** A command cannot run without it (and it has no default). */
  required?: boolean;
  /** Metavariable in help (`DIR`, `N`). */
  valueName?: string;
}

/** Outcome of validating one raw value (from a flag, the environment or the config file). */
export type ParseResult = { ok: true; value: OptionValue } | { ok: false; expected: string };

/** Words a user may write for a boolean, on the command line or in YAML. */
const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

const boolSchema = z.union([
  z.boolean(),
  z.pipe(
    z.string().check(z.trim(), z.toLowerCase(), z.refine((s) => TRUE_WORDS.includes(s) || FALSE_WORDS.includes(s))),
    z.transform((s: string) => TRUE_WORDS.includes(s)),
  ),
]);

function intSchema(min: number, max: number) {
  return z.pipe(
    z.union([z.number(), z.pipe(z.string().check(z.trim(), z.regex(/^-?\d+$/)), z.transform(Number))]),
    z.int().check(z.gte(min), z.lte(max)),
  );
}

const stringSchema = z.pipe(z.union([z.string(), z.pipe(z.number(), z.transform(String))]), z.string().check(z.trim(), z.minLength(1)));

/** Human words for what a kind accepts; used in every "must be ..." message. */
export function describeExpected(kind: OptionKind): string {
  switch (kind.type) {
    case 'string':
    case 'secret':
      return 'a non-empty string';
    case 'path':
      return 'a file or directory path';
    case 'int':
      return kind.max >= Number.MAX_SAFE_INTEGER
        ? `an integer of at least ${kind.min}`
        : `an integer between ${kind.min} and ${kind.max}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${kind.choices.join(', ')}`;
    case 'identifier-list':
      return 'a comma-separated list of names (quote names with capitals or spaces: app,"Sales Data")';
    case 'table-list':
      return 'a comma-separated list of table names, optionally schema-qualified (app.orders,"Sales Data")';
    case 'word-list':
      return 'a comma-separated list of words';
  }
}

function listText(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw.join(',');
  return undefined;
}

/** Validates and converts a raw value (a flag's string or a YAML scalar/list) for a kind. */
export function parseOptionValue(kind: OptionKind, raw: unknown): ParseResult {
  const expected = describeExpected(kind);
  const fromSchema = (schema: z.ZodMiniType<OptionValue>): ParseResult => {
    const result = z.safeParse(schema, raw);
    return result.success ? { ok: true, value: result.data } : { ok: false, expected };
  };
  switch (kind.type) {
    case 'string':
    case 'secret':
    case 'path':
      return fromSchema(stringSchema);
    case 'int':
      return fromSchema(intSchema(kind.min, kind.max));
    case 'bool':
      return fromSchema(boolSchema);
    case 'enum':
      return fromSchema(z.pipe(z.string().check(z.trim(), z.toLowerCase()), z.enum(kind.choices as [string, ...string[]])));
    case 'identifier-list':
    case 'table-list':
    case 'word-list': {
      const text = listText(raw);
      if (text === undefined || text.trim() === '') return { ok: false, expected };
      try {
        if (kind.type === 'identifier-list') return { ok: true, value: parseIdentifierList(text) };
        if (kind.type === 'table-list') return { ok: true, value: parseQualifiedNameList(text) };
        return { ok: true, value: text.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '') };
      } catch (error) {
        if (error instanceof IdentifierSyntaxError) return { ok: false, expected: `${expected}; ${error.message}` };
        throw error;
      }
    }
  }
}

/** Shows a raw value in an error message without ever showing a secret. */
export function showRawValue(kind: OptionKind, raw: unknown): string {
  if (kind.type === 'secret') return '(hidden)';
  return JSON.stringify(raw) ?? String(raw);
}
