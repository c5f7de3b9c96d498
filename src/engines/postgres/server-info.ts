// What a connected server is: its version, and whether it is YugabyteDB. Every command checks the
// minimum version through here, and engines pick YugabyteDB-specific paths from `isYugabyte`.

import type pg from 'pg';
import type { DatabaseSettings } from '../../core/database-settings.js';
import { ConnectionError, type DatabaseRole } from '../../core/errors.js';
import { flagName, serverPlace } from './connection-errors.js';

/** Oldest source godwit reads from: pgoutput logical replication arrived in PostgreSQL 10. */
export const MIN_SOURCE_SERVER_VERSION_NUM = 100_000;
/** Oldest target godwit writes to: YugabyteDB's oldest PostgreSQL base is 11.2. */
export const MIN_TARGET_SERVER_VERSION_NUM = 110_000;

/** Version facts of one server, read once per connection. */
export interface ServerInfo {
  /** `version()`, for example `PostgreSQL 15.18 on x86_64-pc-linux-gnu, ...`. */
  versionString: string;
  /** `server_version_num`, for example 150018. */
  versionNum: number;
  /** 15 for 15.18; 9.6 for 9.6.24 (before 10, the major had two parts). */
  major: number;
  /** `version()` contains `-YB-`. */
  isYugabyte: boolean;
  /** YugabyteDB's own version (`2024.2.5.1-b0`), when `isYugabyte`. */
  ybVersion: string | undefined;
}

/** Reads the server's version facts (two settings, no catalog access: works on any server). */
export async function readServerInfo(client: pg.ClientBase): Promise<ServerInfo> {
  const result = await client.query<{ version: string; version_num: string }>(
    "SELECT /* godwit */ version() AS version, current_setting('server_version_num') AS version_num",
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('the server returned no row for version()');
  return parseServerInfo(row.version, Number.parseInt(row.version_num, 10));
}

/** Builds ServerInfo from `version()` and `server_version_num` (pure, so YugabyteDB strings are testable). */
export function parseServerInfo(versionString: string, versionNum: number): ServerInfo {
  const yb = /-YB-(\S+)/.exec(versionString);
  return {
    versionString,
    versionNum,
    major: versionNum >= 100_000
      ? Math.floor(versionNum / 10_000)
      : Number(`${Math.floor(versionNum / 10_000)}.${Math.floor(versionNum / 100) % 100}`),
    isYugabyte: yb !== null,
    ybVersion: yb?.[1],
  };
}

/** The default minimum `server_version_num` for a side of the migration. */
export function minimumServerVersionNum(role: DatabaseRole): number {
  return role === 'source' ? MIN_SOURCE_SERVER_VERSION_NUM : MIN_TARGET_SERVER_VERSION_NUM;
}

/** `server_version_num` as people write it: 150018 -> "15.18", 100000 -> "10", 90624 -> "9.6.24". */
export function formatVersionNum(versionNum: number): string {
  if (versionNum >= 100_000) {
    const minor = versionNum % 10_000;
    return minor === 0 ? String(Math.floor(versionNum / 10_000)) : `${Math.floor(versionNum / 10_000)}.${minor}`;
  }
  const parts = [Math.floor(versionNum / 10_000), Math.floor(versionNum / 100) % 100, versionNum % 100];
  return (parts[2] === 0 ? parts.slice(0, 2) : parts).join('.');
}

/** Refuses a server older than `minimum` with a 'server-too-old' ConnectionError. */
export function assertServerVersion(info: ServerInfo, settings: DatabaseSettings, minimum: number): void {
  if (info.versionNum >= minimum) return;
  const running = info.isYugabyte
    ? `YugabyteDB ${info.ybVersion ?? ''} (PostgreSQL ${formatVersionNum(info.versionNum)})`
    : `PostgreSQL ${formatVersionNum(info.versionNum)}`;
  throw new ConnectionError(
    settings.role,
    'server-too-old',
    `The ${serverPlace(settings)} runs ${running}; godwit needs PostgreSQL ${formatVersionNum(minimum)} or later there.`,
    {
      hint: `Upgrade that server, or point ${flagName(settings.role, 'db-host')} and ${flagName(settings.role, 'db-port')} at a newer one.`,
    },
  );
}
