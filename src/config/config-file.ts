// Reads the YAML config file and checks its shape: every key known, every value of the right
// type, errors naming the file and line. Values keep their line so later errors can point at it.

import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Node, Pair, Scalar, YAMLMap } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { closestWord } from './closest-word.js';
import { parseOptionValue, showRawValue, type OptionSpec, type OptionValue } from './option-spec.js';

/** What a config file is allowed to hold: top-level keys and the keys of each section. */
export interface ConfigFileSchema {
  topLevel: OptionSpec[];
  sections: Map<string, OptionSpec[]>;
}

/** One validated value with where it came from. */
export interface FileValue {
  value: OptionValue;
  line: number;
}

/** A validated config file: top-level values and each section's values, by key. */
export interface ConfigFile {
  path: string;
  topLevel: Map<string, FileValue>;
  sections: Map<string, Map<string, FileValue>>;
}

/**
 * The yaml package, loaded when a config file is read: most commands run without one, and loading it
 * costs every start tens of milliseconds.
 */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}
const isMap = (node: unknown): node is YAMLMap => yaml().isMap(node);
const isScalar = (node: unknown): node is Scalar => yaml().isScalar(node);

/** The "config file X, line N:" prefix every file error starts with. */
export function fileLocation(path: string, line: number): string {
  return `config file ${path}, line ${line}`;
}

/** Loads and validates a config file; throws ConfigError naming the file, line and key. */
export function loadConfigFile(pathGiven: string, schema: ConfigFileSchema): ConfigFile {
  const path = resolve(pathGiven);
  let text: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new ConfigError(`config file ${path} is a directory, not a file.`, { hint: 'Give the path of a YAML file with --config-file.' });
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`config file ${path} does not exist.`, { hint: 'Check the --config-file path.' });
    }
    throw new ConfigError(`config file ${path} cannot be read (${code ?? String(error)}).`, { hint: 'Check the file permissions.' });
  }

  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const lineOf = (offset: number | undefined): number => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  const firstError = doc.errors[0];
  if (firstError !== undefined) {
    const reason = firstError.message.split('\n')[0] ?? firstError.message;
    throw new ConfigError(`${fileLocation(path, lineOf(firstError.pos[0]))}: invalid YAML: ${reason}`);
  }

  const result: ConfigFile = { path, topLevel: new Map(), sections: new Map() };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return result;
  if (!isMap(doc.contents)) {
    throw new ConfigError(`${fileLocation(path, lineOf(doc.contents.range?.[0]))}: the file must be a mapping of keys to values (export-dir:, source:, target:, ...).`);
  }

  const topLevelByName = new Map(schema.topLevel.map((spec) => [spec.name, spec]));
  const allowedTop = [...topLevelByName.keys(), ...schema.sections.keys()];
  for (const pair of doc.contents.items as Pair<Node, Node | null>[]) {
    const key = keyText(pair);
    const line = lineOf(pair.key?.range?.[0]);
    const sectionSpecs = schema.sections.get(key);
    if (sectionSpecs !== undefined) {
      result.sections.set(key, readSection(path, key, pair.value, line, sectionSpecs, lineOf));
      continue;
    }
    const spec = topLevelByName.get(key);
    if (spec === undefined) throw unknownKey(path, line, key, undefined, allowedTop);
    result.topLevel.set(key, { value: validateValue(path, line, spec, pair.value, undefined), line });
  }
  return result;
}

function keyText(pair: Pair<Node, Node | null>): string {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function readSection(
  path: string,
  section: string,
  node: Node | null,
  sectionLine: number,
  specs: OptionSpec[],
  lineOf: (offset: number | undefined) => number,
): Map<string, FileValue> {
  const values = new Map<string, FileValue>();
  if (node === null || (isScalar(node) && node.value === null)) return values;
  if (!isMap(node)) {
    throw new ConfigError(`${fileLocation(path, sectionLine)}: section "${section}" must be a mapping of keys to values.`);
  }
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  for (const pair of node.items as Pair<Node, Node | null>[]) {
    const key = keyText(pair);
    const line = lineOf(pair.key?.range?.[0]);
    const spec = byName.get(key);
    if (spec === undefined) throw unknownKey(path, line, key, section, [...byName.keys()]);
    values.set(key, { value: validateValue(path, line, spec, pair.value, section), line });
  }
  return values;
}

function validateValue(path: string, line: number, spec: OptionSpec, node: Node | null, section: string | undefined): OptionValue {
  const raw: unknown = node === null ? null : node.toJSON();
  const parsed = parseOptionValue(spec.kind, raw);
  if (parsed.ok) return parsed.value;
  const where = section === undefined ? '' : ` in section "${section}"`;
  throw new ConfigError(`${fileLocation(path, line)}: "${spec.name}"${where} must be ${parsed.expected}, got ${showRawValue(spec.kind, raw)}.`);
}

function unknownKey(path: string, line: number, key: string, section: string | undefined, allowed: string[]): ConfigError {
  const where = section === undefined ? '' : ` in section "${section}"`;
  const guess = closestWord(key, allowed);
  const suggestion = guess === undefined ? '' : ` Did you mean "${guess}"?`;
  return new ConfigError(`${fileLocation(path, line)}: unknown key "${key}"${where}.${suggestion}`, {
    hint: allowed.length === 0 ? `Section "${section}" takes no keys.` : `Allowed keys${where}: ${allowed.join(', ')}.`,
  });
}
