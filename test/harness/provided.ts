// What the global setup hands to every test file (through vitest's provide/inject): plain,
// serialisable connection data for the shared servers.

import type { DatabaseRole } from '../../src/core/errors.js';
import type { TestCertificates } from './certificates.js';

/** One shared server, reachable as its superuser. */
export interface HarnessServer {
  role: DatabaseRole;
  major: 15 | 17;
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  socketDir: string;
  logFile: string;
  /** Only the source serves TLS, so the target shows what a server without TLS does. */
  tls: boolean;
}

/** Roles on the source that exercise TLS-specific pg_hba lines. */
export interface HarnessTlsRoles {
  /** Logs in with its client certificate only (`hostssl ... cert`). */
  certUser: string;
  /** Password login, accepted over TLS only (`hostnossl ... reject`). */
  sslOnlyUser: string;
  sslOnlyPassword: string;
}

/** Everything `inject('servers')` returns. */
export interface HarnessServers {
  source: HarnessServer;
  target: HarnessServer;
  certificates: TestCertificates;
  tlsRoles: HarnessTlsRoles;
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: HarnessServers;
  }
}
