// Generic helpers over libpg-query's JSON syntax tree: each node is an object with exactly one key
// (the node type) whose value holds the fields. Rules and the classifier look nodes up by type name
// instead of hand-walking every shape, so new node types never break a walk.
import type { Node } from 'libpg-query';

/** The node's type name and its fields, or undefined for a value that is not a node. */
export function nodeEntry(node: unknown): [string, Record<string, unknown>] | undefined {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as string;
  if (!/^[A-Z]/.test(key)) return undefined;
  const value = (node as Record<string, unknown>)[key];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return [key, value as Record<string, unknown>];
}

/** The node's type name ('CreateStmt', 'IndexStmt', ...), so classifiers can switch on it. */
export function nodeType(node: unknown): string | undefined {
  return nodeEntry(node)?.[0];
}

/** The fields of a node of the expected type, typed by the caller; undefined for any other node. */
export function nodeAs<T>(node: Node | unknown, type: string): T | undefined {
  const entry = nodeEntry(node);
  return entry !== undefined && entry[0] === type ? (entry[1] as T) : undefined;
}

/** Visits every node below (and including) `root`, depth first, with its type name and fields. */
export function walkAst(root: unknown, visit: (type: string, fields: Record<string, unknown>) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
      continue;
    }
    const entry = nodeEntry(value);
    if (entry !== undefined) visit(entry[0], entry[1]);
    const fields = entry !== undefined ? entry[1] : (value as Record<string, unknown>);
    for (const child of Object.values(fields)) {
      if (child !== null && typeof child === 'object') stack.push(child);
    }
  }
}

/** Every node of one type below `root`, for rules that look for one construct. */
export function findNodes<T>(root: unknown, type: string): T[] {
  const found: T[] = [];
  walkAst(root, (t, fields) => {
    if (t === type) found.push(fields as T);
  });
  return found;
}
