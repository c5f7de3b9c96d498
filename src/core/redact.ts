// Keeps passwords out of everything godwit writes (DESIGN.md section 2: never in a log, a report or
// the export dir). Two layers: the exact secret values registered when the configuration is
// resolved, replaced wherever they appear (also URL- and JSON-escaped), and patterns that catch
// secrets nobody registered: `password=...` settings and `scheme://user:password@host` URIs.

/** What a hidden secret is replaced with. */
export const REDACTED = '********';

/** Field names whose values are hidden whole, whatever they hold (a boolean flag is no secret). */
const SECRET_KEY = /password|passwd|passphrase|(^|[-_])pass$|pwd$|secret|token$|api[-_]?key|private[-_]?key/i;

/** `scheme://user:password@` (the user part may be empty). */
const URI_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):([^\s@]*)@/gi;

/** `password=value`, `PGPASSWORD: value`, `"password":"value"`, `--source-db-password value`, ... */
const KEY_VALUE_PASSWORD =
  /(["']?)((?<![\w.-])[\w.-]*(?:password|passwd|pwd|secret)\b)\1(\s*[=:]\s*|\s+(?=\S))("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;&'"}\])]+)/gi;

const MAX_DEPTH = 8;

/** Replaces secrets in text and values; one per process is enough (see `processRedactor`). */
export class Redactor {
  private readonly needles = new Set<string>();
  private sorted: string[] = [];

  /** Registers a secret (a password as typed); empty or missing values are ignored. */
  addSecret(secret: string | undefined | null): void {
    if (secret === undefined || secret === null || secret === '') return;
    const forms = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
    for (const form of forms) if (form !== '') this.needles.add(form);
    // Longest first, so a secret that contains another is replaced whole.
    this.sorted = [...this.needles].sort((a, b) => b.length - a.length);
  }

  /** Hides registered secrets and password-looking patterns in a string. */
  redact(text: string): string {
    let out = text;
    for (const needle of this.sorted) out = out.split(needle).join(REDACTED);
    out = out.replace(URI_PASSWORD, (_match, prefix: string) => `${prefix}:${REDACTED}@`);
    out = out.replace(KEY_VALUE_PASSWORD, (match, quote: string, key: string, separator: string, value: string) =>
      isKeyword(key, separator) ? match : `${quote}${key}${quote}${separator}${maskValue(value)}`,
    );
    return out;
  }

  /**
   * A copy of `value` safe to serialise: strings redacted, secret-named fields hidden, errors turned
   * into plain objects (name, message, stack, code, cause) so their text is redacted too.
   */
  redactValue(value: unknown): unknown {
    return this.walk(value, 0, new WeakSet<object>());
  }

  private walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'symbol' || typeof value === 'function') return String(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    if (depth >= MAX_DEPTH) return '[…]';
    seen.add(value);
    try {
      if (value instanceof Error) return this.walkError(value, depth, seen);
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
      if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
      if (Array.isArray(value)) return value.map((item) => this.walk(item, depth + 1, seen));
      if (value instanceof Map) return this.walkEntries([...value.entries()].map(([k, v]) => [String(k), v]), depth, seen);
      if (value instanceof Set) return [...value].map((item) => this.walk(item, depth + 1, seen));
      return this.walkEntries(Object.entries(value), depth, seen);
    } finally {
      seen.delete(value);
    }
  }

  private walkEntries(entries: [string, unknown][], depth: number, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const hidden = SECRET_KEY.test(key) && item !== undefined && item !== null && typeof item !== 'boolean';
      out[this.redact(key)] = hidden ? REDACTED : this.walk(item, depth + 1, seen);
    }
    return out;
  }

  private walkError(error: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
    const out: Record<string, unknown> = { name: error.name, message: this.redact(error.message) };
    const extra = error as Error & { code?: unknown; hint?: unknown };
    if (extra.code !== undefined) out['code'] = this.walk(extra.code, depth + 1, seen);
    if (typeof extra.hint === 'string') out['hint'] = this.redact(extra.hint);
    if (error.stack !== undefined) out['stack'] = this.redact(error.stack);
    if (error.cause !== undefined) out['cause'] = this.walk(error.cause, depth + 1, seen);
    return out;
  }
}

/** `--password value` only counts when a value follows; `password is wrong` is a sentence, not a setting. */
function isKeyword(key: string, separator: string): boolean {
  if (/[=:]/.test(separator)) return false;
  return !key.startsWith('-');
}

function maskValue(value: string): string {
  if (value.startsWith('"')) return `"${REDACTED}"`;
  if (value.startsWith("'")) return `'${REDACTED}'`;
  return REDACTED;
}

/** The process-wide redactor: configuration registers passwords here, logs and the CLI use it. */
export const processRedactor = new Redactor();
