// pg_dump output and hand-written schema files contain psql meta-commands (`\restrict KEY`,
// `\unrestrict KEY`, `\connect db`, ...) and, in data dumps, `COPY ... FROM stdin` data blocks ended
// by `\.`. None of that is SQL. This blanks those lines (keeping every newline, so line numbers stay
// right) while respecting strings, quoted names, dollar quotes and comments, where a line starting
// with a backslash is data.

/** The cleaned text and which lines (1-based) were blanked. */
export interface StrippedText {
  text: string;
  strippedLines: number[];
}

type LexState = 'normal' | 'single' | 'escape-string' | 'double' | 'dollar' | 'block-comment' | 'line-comment';

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const COPY_FROM_STDIN = /^COPY\b[\s\S]*\bFROM\s+stdin\b/i;

/** Blanks psql meta-command lines and COPY FROM stdin data so the rest can go to the SQL parser. */
export function stripPsqlMetaCommands(input: string): StrippedText {
  const lines = input.split('\n');
  const strippedLines: number[] = [];
  let state: LexState = 'normal';
  let dollarTag = '';
  let commentDepth = 0;
  let statement = '';
  let inCopyData = false;

  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    if (inCopyData) {
      strippedLines.push(n + 1);
      lines[n] = '';
      if (line.replace(/\r$/, '') === '\\.') inCopyData = false;
      continue;
    }
    if (state === 'line-comment') state = 'normal';
    if (state === 'normal' && /^\s*\\/.test(line)) {
      strippedLines.push(n + 1);
      lines[n] = '';
      continue;
    }
    let i = 0;
    while (i < line.length) {
      const c = line[i] as string;
      const next = line[i + 1];
      if (state === 'normal') {
        if (c === '-' && next === '-') {
          state = 'line-comment';
          break;
        }
        if (c === '/' && next === '*') {
          state = 'block-comment';
          commentDepth = 1;
          i += 2;
          continue;
        }
        const startsToken = statement.length > 0 || !/\s/.test(c);
        if (c === ';') {
          if (COPY_FROM_STDIN.test(statement.trim())) inCopyData = true;
          statement = '';
          i++;
          continue;
        }
        if (startsToken) statement += c;
        if (c === "'") {
          const prev = line[i - 1];
          state = (prev === 'E' || prev === 'e') && !IDENT_CHAR.test(line[i - 2] ?? ' ') ? 'escape-string' : 'single';
        } else if (c === '"') {
          state = 'double';
        } else if (c === '$' && !IDENT_CHAR.test(line[i - 1] ?? ' ')) {
          const match = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(line.slice(i));
          if (match !== null) {
            dollarTag = match[0];
            state = 'dollar';
            statement += dollarTag.slice(1);
            i += dollarTag.length;
            continue;
          }
        }
        i++;
        continue;
      }
      statement += c;
      if (state === 'single') {
        if (c === "'") state = next === "'" ? (i++, statement += "'", 'single') : 'normal';
      } else if (state === 'escape-string') {
        if (c === '\\') {
          if (next !== undefined) statement += next;
          i++;
        } else if (c === "'") {
          state = next === "'" ? (i++, statement += "'", 'escape-string') : 'normal';
        }
      } else if (state === 'double') {
        if (c === '"') state = next === '"' ? (i++, statement += '"', 'double') : 'normal';
      } else if (state === 'dollar') {
        if (c === '$' && line.startsWith(dollarTag, i)) {
          statement += dollarTag.slice(1);
          i += dollarTag.length;
          state = 'normal';
          continue;
        }
      } else if (state === 'block-comment') {
        statement = statement.slice(0, -1);
        if (c === '*' && next === '/') {
          commentDepth--;
          i++;
          if (commentDepth === 0) state = 'normal';
        } else if (c === '/' && next === '*') {
          commentDepth++;
          i++;
        }
      }
      i++;
    }
    if (statement.length > 0 && state !== 'block-comment') statement += '\n';
  }
  return { text: lines.join('\n'), strippedLines };
}
