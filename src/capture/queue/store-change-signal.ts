// Wakes a queue reader that reached the end as soon as the migration store changes, instead of at its
// next poll. The exporter records every queue commit in the store (SQLite in WAL mode: each commit
// writes the -wal file beside it), so a change in the store's folder is the moment new events may be
// readable. Without it an importer that waited for its first events noticed them up to a poll interval
// late: in the changes benchmark the exporter's first commit came ~60 ms after the importer started
// waiting, and the importer, polling at 5, 10, 20, 40, 80 and then 100 ms, read it 100-170 ms later.
//
// Only a hint: the reader still reads the store's committed sizes (the truth) and still polls at its
// interval, so a file system without change notifications (fs.watch throws or stays silent) or a
// missed event costs what it cost before, and an event that is not a commit costs one empty read.

import { watch, type FSWatcher } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';

/** Store changes seen since the last {@link StoreChangeSignal.reset}, and a wait that ends at the next one. */
export class StoreChangeSignal {
  private watcher: FSWatcher | undefined;
  private unavailable = false;
  private changed = false;
  private wake: (() => void) | undefined;

  /** `storeFile`: the store's path; ':memory:' or a relative name gets no watcher (polling only). */
  constructor(private readonly storeFile: string) {}

  /** Forgets the changes seen so far: call before reading, so a commit during the read is not lost. */
  reset(): void {
    this.start();
    this.changed = false;
  }

  /** Resolves at the first store change since reset(), after `ms`, or when `signal` aborts (then it rejects). */
  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.changed) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.wake = undefined;
        resolve();
      };
      const aborted = (): void => {
        done();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', aborted, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.wake?.();
  }

  private start(): void {
    if (this.watcher !== undefined || this.unavailable) return;
    if (!isAbsolute(this.storeFile)) {
      this.unavailable = true;
      return;
    }
    try {
      // Not persistent: a waiting reader keeps the process alive through its timer, not through this.
      this.watcher = watch(dirname(this.storeFile), { persistent: false }, () => {
        this.changed = true;
        this.wake?.();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
        this.unavailable = true;
      });
    } catch {
      this.unavailable = true;
    }
  }
}
