// The resolved settings of one database (source or target), shared by config (which builds them)
// and the engines (which connect with them).

import type { DatabaseRole } from './errors.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Everything needed to open a connection to one side of the migration. */
export interface DatabaseSettings {
  role: DatabaseRole;
  host: string;
  port: number;
  user: string;
  /** Undefined when none was given: the connection may still succeed (trust, .pgpass) or prompt. */
  password: string | undefined;
  database: string;
  /** Schema names as the catalog spells them (identifier folding already applied). */
  schemas: string[];
  sslMode: SslMode;
  sslRootCert: string | undefined;
  sslCert: string | undefined;
  sslKey: string | undefined;
}

/** The flag spelling of a connection setting for a role (`source` + `db-host` -> `source-db-host`). */
export function connectionFlagName(role: DatabaseRole, key: string): string {
  return `${role}-${key}`;
}

/** The environment variable that carries a role's password (SOURCE_DB_PASSWORD). */
export function passwordEnvVar(role: DatabaseRole): string {
  return `${role.toUpperCase()}_DB_PASSWORD`;
}
