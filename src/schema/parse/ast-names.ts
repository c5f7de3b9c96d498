// Names as the parser gives them (String lists, RangeVars, TypeNames) turned into the display form a
// user would type back: `public."Sales Data"`, `integer[]`, `public.f(integer, text)`.
import type { FunctionParameter, Node, ObjectWithArgs, RangeVar, TypeName } from 'libpg-query';
import { displayIdent } from '../../core/identifiers.js';
import { nodeAs, nodeEntry } from './ast-walk.js';

/** The plain strings of a list of String nodes (qualified names, column lists). */
export function stringList(nodes: Node[] | undefined): string[] {
  const out: string[] = [];
  for (const node of nodes ?? []) {
    const value = nodeAs<{ sval?: string }>(node, 'String');
    if (value !== undefined) out.push(value.sval ?? '');
  }
  return out;
}

/** A list of name parts shown as a qualified name (`public.film`), quoting where folding would change it. */
export function displayName(parts: string[]): string {
  return parts.map(displayIdent).join('.');
}

/** A RangeVar (table reference) shown as a qualified name. */
export function rangeVarName(rv: RangeVar | undefined): string | undefined {
  if (rv?.relname === undefined) return undefined;
  return displayName(rv.schemaname === undefined ? [rv.relname] : [rv.schemaname, rv.relname]);
}

/** The schema of a RangeVar, for objects (indexes) that live in their table's schema. */
export function rangeVarSchema(rv: RangeVar | undefined): string | undefined {
  return rv?.schemaname;
}

const BUILTIN_TYPE_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bool: 'boolean',
  bpchar: 'character',
  varchar: 'character varying',
  timestamptz: 'timestamp with time zone',
  timetz: 'time with time zone',
};

/**
 * The lower-case base name of a type without its schema when it is built in (`int4`, `xml`,
 * `tsvector`, `public.year`), which is what data-type rules compare against.
 */
export function typeBaseName(tn: TypeName | undefined): string {
  const parts = stringList(tn?.names);
  if (parts.length === 0) return '';
  if (parts.length >= 2 && parts[0] === 'pg_catalog') return (parts[parts.length - 1] as string).toLowerCase();
  if (parts.length === 1) return (parts[0] as string).toLowerCase();
  return displayName(parts);
}

/** A type shown for a report (`integer`, `public.mpaa_rating[]`, `numeric(10,2)`). */
export function typeDisplay(tn: TypeName | undefined): string {
  const base = typeBaseName(tn);
  let text = BUILTIN_TYPE_NAMES[base] ?? base;
  const mods = (tn?.typmods ?? [])
    .map((m) => nodeAs<{ ival?: { ival?: number } }>(m, 'A_Const')?.ival?.ival)
    .filter((v): v is number => v !== undefined);
  if (mods.length > 0) text += `(${mods.join(',')})`;
  if ((tn?.arrayBounds?.length ?? 0) > 0) text += '[]';
  return tn?.setof === true ? `SETOF ${text}` : text;
}

/** Whether a type reference is an array (`int[]`), for rules that treat arrays differently. */
export function isArrayType(tn: TypeName | undefined): boolean {
  return (tn?.arrayBounds?.length ?? 0) > 0;
}

/** A function signature as PostgreSQL identifies it: name and the types of its input arguments. */
export function functionSignature(name: Node[] | undefined, params: Node[] | undefined): string {
  const args: string[] = [];
  for (const p of params ?? []) {
    const fp = nodeAs<FunctionParameter>(p, 'FunctionParameter');
    if (fp === undefined) {
      const tn = nodeAs<TypeName>(p, 'TypeName');
      if (tn !== undefined) args.push(typeDisplay(tn));
      continue;
    }
    if (fp.mode === 'FUNC_PARAM_OUT' || fp.mode === 'FUNC_PARAM_TABLE') continue;
    args.push(typeDisplay(fp.argType));
  }
  return `${displayName(stringList(name))}(${args.join(', ')})`;
}

/** An ObjectWithArgs (ALTER FUNCTION, COMMENT ON FUNCTION ...) shown as a signature. */
export function objectWithArgsName(owa: ObjectWithArgs | undefined): string | undefined {
  if (owa === undefined) return undefined;
  if (owa.args_unspecified === true) return displayName(stringList(owa.objname));
  return functionSignature(owa.objname, owa.objargs);
}

/** The name a generic `object` field (COMMENT ON, ALTER ... RENAME) refers to, whatever its node shape. */
export function genericObjectName(object: Node | undefined): string | undefined {
  const entry = nodeEntry(object);
  if (entry === undefined) return undefined;
  const [type, fields] = entry;
  if (type === 'String') return displayIdent(String(fields.sval ?? ''));
  if (type === 'List') return displayName(stringList(fields.items as Node[] | undefined));
  if (type === 'ObjectWithArgs') return objectWithArgsName(fields as ObjectWithArgs);
  if (type === 'TypeName') return typeDisplay(fields as TypeName);
  if (type === 'RangeVar') return rangeVarName(fields as RangeVar);
  return undefined;
}
