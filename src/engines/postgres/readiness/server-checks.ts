// The server-wide conditions of logical decoding on PostgreSQL: a primary, wal_level = logical, a
// free replication slot and a free WAL sender, and a max_slot_wal_keep_size that will not
// invalidate the slot while the snapshot is copied. YugabyteDB has none of these settings (its
// change stream is not built on the WAL), so the caller skips these checks there.

import { readinessFinding, type ReadinessFinding, type ReadinessFix } from '../../capture-readiness.js';
import type { ReplicationUsageRow, SettingRow } from './readiness-queries.js';

/** What the server checks need besides the rows. */
export interface ServerCheckOptions {
  /** godwit's slot does not exist yet, so creating it takes a free slot. */
  needsNewSlot: boolean;
  /** MAX_SLOT_WAL_KEEP_SIZE is reported below this many bytes. */
  slotWalKeepWarningBytes: number;
}

const RESTART_PENDING = ' A changed value is already configured and waits for a restart of the server.';

const MANAGED_SERVICE_NOTE =
  'on a managed service set its parameter instead, for example rds.logical_replication = 1 on Amazon RDS and Aurora, ' +
  'cloudsql.logical_decoding = on on Cloud SQL';

/** SERVER_IN_RECOVERY: a standby cannot hold godwit's publication (every CREATE there is refused). */
export function recoveryFindings(inRecovery: boolean): ReadinessFinding[] {
  if (!inRecovery) return [];
  return [
    readinessFinding(
      'SERVER_IN_RECOVERY',
      { kind: 'server', name: 'pg_is_in_recovery()' },
      'The server is a standby in recovery: godwit creates a publication, which only the primary can hold.',
      [{ sql: [], note: 'connect to the primary server instead' }],
    ),
  ];
}

/** WAL_LEVEL_NOT_LOGICAL, NO_FREE_REPLICATION_SLOT, NO_FREE_WAL_SENDER and MAX_SLOT_WAL_KEEP_SIZE. */
export function serverSettingFindings(
  settings: ReadonlyMap<string, SettingRow>,
  usage: ReplicationUsageRow,
  options: ServerCheckOptions,
): ReadinessFinding[] {
  return [
    ...walLevelFindings(settings.get('wal_level')),
    ...slotFindings(settings.get('max_replication_slots'), usage, options.needsNewSlot),
    ...walSenderFindings(settings.get('max_wal_senders'), usage),
    ...walKeepFindings(settings.get('max_slot_wal_keep_size'), options.slotWalKeepWarningBytes),
  ];
}

function walLevelFindings(row: SettingRow | undefined): ReadinessFinding[] {
  if (row === undefined || row.setting === 'logical') return [];
  return [
    readinessFinding(
      'WAL_LEVEL_NOT_LOGICAL',
      { kind: 'setting', name: 'wal_level' },
      `wal_level is ${row.setting}; logical decoding, and so change capture, needs logical.` + (row.pending_restart ? RESTART_PENDING : ''),
      [{ sql: ['ALTER SYSTEM SET wal_level = logical'], restart: true, note: MANAGED_SERVICE_NOTE }],
    ),
  ];
}

function slotFindings(row: SettingRow | undefined, usage: ReplicationUsageRow, needsNewSlot: boolean): ReadinessFinding[] {
  if (row === undefined || !needsNewSlot) return [];
  const max = Number.parseInt(row.setting, 10);
  const used = usage.slots.length;
  if (used < max) return [];
  const listed = usage.slots
    .slice(0, 5)
    .map((slot) => `"${slot.name}" (${slot.type}${slot.database === null ? '' : ` on "${slot.database}"`}, ${slot.active ? 'active' : 'inactive'})`)
    .join(', ');
  const more = usage.slots.length > 5 ? ` and ${usage.slots.length - 5} more` : '';
  const fixes: ReadinessFix[] = [{ sql: [`ALTER SYSTEM SET max_replication_slots = ${used + 1}`], restart: true }];
  const inactive = usage.slots.find((slot) => !slot.active);
  if (inactive !== undefined) {
    fixes.push({
      sql: [`SELECT pg_drop_replication_slot('${inactive.name.replaceAll("'", "''")}')`],
      note: 'only if nothing needs that slot any more: its consumer can never resume',
    });
  }
  return [
    readinessFinding(
      'NO_FREE_REPLICATION_SLOT',
      { kind: 'setting', name: 'max_replication_slots' },
      `max_replication_slots is ${max} and ${used === 1 ? '1 slot exists' : `${used} slots exist`}` +
        (listed === '' ? '' : ` (${listed}${more})`) +
        '; godwit needs one more for its stream.' +
        (row.pending_restart ? RESTART_PENDING : ''),
      fixes,
    ),
  ];
}

function walSenderFindings(row: SettingRow | undefined, usage: ReplicationUsageRow): ReadinessFinding[] {
  if (row === undefined) return [];
  const max = Number.parseInt(row.setting, 10);
  if (usage.wal_senders < max) return [];
  return [
    readinessFinding(
      'NO_FREE_WAL_SENDER',
      { kind: 'setting', name: 'max_wal_senders' },
      `max_wal_senders is ${max} and ${usage.wal_senders} WAL senders are running (pg_stat_replication); ` +
        "godwit's stream needs one more." +
        (row.pending_restart ? RESTART_PENDING : ''),
      [
        {
          sql: [`ALTER SYSTEM SET max_wal_senders = ${usage.wal_senders + 1}`],
          restart: true,
          note: 'standbys of this server need at least the same value',
        },
      ],
    ),
  ];
}

function walKeepFindings(row: SettingRow | undefined, warningBytes: number): ReadinessFinding[] {
  // The setting exists from PostgreSQL 13; -1 (the default) keeps WAL for slots without limit.
  if (row === undefined || row.setting === '-1') return [];
  const bytes = settingBytes(row);
  if (bytes === undefined || bytes >= warningBytes) return [];
  return [
    readinessFinding(
      'MAX_SLOT_WAL_KEEP_SIZE',
      { kind: 'setting', name: 'max_slot_wal_keep_size' },
      `max_slot_wal_keep_size is ${formatBytes(bytes)}: godwit's slot holds the WAL from its creation through the whole ` +
        'snapshot copy and every pause of the export; once it holds more, the server invalidates it ' +
        '(wal_status = lost) and the migration must start again from a new snapshot.',
      [
        {
          sql: ['ALTER SYSTEM SET max_slot_wal_keep_size = -1', 'SELECT pg_reload_conf()'],
          note: 'or a size larger than the WAL written during the snapshot and the longest pause; the disk must hold it',
        },
      ],
    ),
  ];
}

const UNIT_BYTES: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** A memory setting in bytes from pg_settings' value and unit (`16` and `MB`, or `2` and `8kB`). */
export function settingBytes(row: Pick<SettingRow, 'setting' | 'unit'>): number | undefined {
  const value = Number(row.setting);
  const unit = /^(\d*)\s*(B|kB|MB|GB|TB)$/.exec(row.unit ?? 'B');
  if (!Number.isFinite(value) || unit === null) return undefined;
  const factor = (unit[1] === '' || unit[1] === undefined ? 1 : Number(unit[1])) * (UNIT_BYTES[unit[2] ?? 'B'] ?? 1);
  return value * factor;
}

function formatBytes(bytes: number): string {
  for (const unit of ['TB', 'GB', 'MB', 'kB'] as const) {
    const size = UNIT_BYTES[unit] as number;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes} bytes`;
}
