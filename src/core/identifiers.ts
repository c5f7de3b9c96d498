// SQL identifier rules for names the user types (schema and table lists) and for names godwit
// writes into SQL. Unquoted names fold to lower case; double-quoted names are taken exactly.

/** A possibly schema-qualified name as the catalog spells it (after folding). */
export interface QualifiedName {
  schema: string | undefined;
  name: string;
}

/** Thrown by the list parsers; config turns it into a message naming the setting. */
export class IdentifierSyntaxError extends Error {}

/**
 * Splits a comma-separated list of possibly qualified names (`app,"Sales Data",crm.orders`) into
 * parts, each part a list of identifiers separated by dots, with SQL folding applied.
 */
export function parseNameList(text: string): string[][] {
  const items: string[][] = [];
  let parts: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new IdentifierSyntaxError(`${why} at position ${i + 1} of ${JSON.stringify(text)}`);
  };
  const skipSpaces = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  while (true) {
    skipSpaces();
    if (text[i] === '"') {
      let name = '';
      i++;
      while (true) {
        if (i >= text.length) fail('unterminated quoted name');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += text[i];
        i++;
      }
      if (name === '') fail('empty quoted name');
      parts.push(name);
    } else {
      const start = i;
      while (i < text.length && !/[\s,."]/.test(text[i] ?? '')) i++;
      const word = text.slice(start, i);
      if (word === '') fail('missing name');
      parts.push(word.toLowerCase());
    }
    skipSpaces();
    if (i >= text.length) {
      items.push(parts);
      return items;
    }
    const separator = text[i];
    i++;
    if (separator === '.') continue;
    if (separator === ',') {
      items.push(parts);
      parts = [];
      continue;
    }
    fail(`unexpected ${JSON.stringify(separator)}`);
  }
}

/** Parses a list of plain identifiers (schema names): no dots allowed. */
export function parseIdentifierList(text: string): string[] {
  return parseNameList(text).map((parts) => {
    if (parts.length !== 1) {
      throw new IdentifierSyntaxError(`${JSON.stringify(parts.join('.'))} is not a single name (quote names that contain dots)`);
    }
    return parts[0] as string;
  });
}

/** Parses a list of table names, each optionally qualified by its schema. */
export function parseQualifiedNameList(text: string): QualifiedName[] {
  return parseNameList(text).map((parts) => {
    if (parts.length === 1) return { schema: undefined, name: parts[0] as string };
    if (parts.length === 2) return { schema: parts[0], name: parts[1] as string };
    throw new IdentifierSyntaxError(`${JSON.stringify(parts.join('.'))} has too many dots (expected schema.table)`);
  });
}

/** Quotes an identifier for SQL text: every name godwit writes into SQL goes through this. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a schema-qualified name for SQL text. */
export function quoteQualified(name: QualifiedName): string {
  return name.schema === undefined ? quoteIdent(name.name) : `${quoteIdent(name.schema)}.${quoteIdent(name.name)}`;
}

/** Shows a name the way a user would type it back (quoted only where folding would change it). */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}
