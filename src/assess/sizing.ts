// Where each table should live in YugabyteDB and how big a cluster to start with: a pure plan from
// the inventory and the sampled rates, with every threshold a named constant and every step of the
// arithmetic written into the rationale, so that a DBA can check it and redo it with their own
// numbers. These are rules of thumb for a first cluster, to be confirmed by a load test.

import type { ActivitySample, AssessedTable, InventoryTable, SizingRecommendation, TableActivity } from './assessment-types.js';
import { formatBinaryBytes } from '../core/format-bytes.js';
import { activityKey } from './activity-sampling.js';

/** A table (with its indexes) at least this big gets tablets of its own: one colocation tablet would hold it back. */
export const COLOCATION_MAX_TABLE_BYTES = 1024 ** 3;
/** Row writes per second from which a table is sharded: its writes would queue on the colocation tablet's leader. */
export const COLOCATION_MAX_WRITES_PER_SECOND = 500;
/** Row reads per second from which a table is sharded. */
export const COLOCATION_MAX_READS_PER_SECOND = 10_000;
/** The colocation tablet is kept under this much data: beyond it, the biggest colocated tables move to sharded. */
export const COLOCATION_MAX_TOTAL_BYTES = 50 * 1024 ** 3;
/** Copies of every tablet (YugabyteDB's default for production). */
export const REPLICATION_FACTOR = 3;
/** Nodes at the least: one per replica. */
export const MIN_NODES = 3;
/** Replicated data a node is planned to hold (room left for compactions, growth and re-replication after a loss). */
export const REPLICATED_BYTES_PER_NODE = 1024 ** 4;
/** Row writes per second one vCPU sustains (each write is replicated to REPLICATION_FACTOR nodes). */
export const WRITES_PER_VCPU = 1_000;
/** Row reads per second one vCPU sustains. */
export const READS_PER_VCPU = 20_000;
/** The sampled rates are an average: the cluster is planned for this much more. */
export const PEAK_HEADROOM = 1.5;
/** vCPUs per node offered (the smallest that fits is chosen). */
export const VCPU_CHOICES = [4, 8, 16, 32] as const;
/** Memory per vCPU. */
export const MEMORY_GIB_PER_VCPU = 4;

const gib = formatBinaryBytes;
const round = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

/** Tables that hold rows themselves (a partitioned parent's are its partitions'): what the totals count. */
export function holdsRows(table: InventoryTable): boolean {
  return table.kind !== 'partitioned';
}

function placementOf(table: InventoryTable, activity: TableActivity | null): Pick<AssessedTable, 'placement' | 'placementReason'> {
  const bytes = table.tableBytes + table.indexBytes;
  const parent = table.kind === 'partitioned' ? ' (its partitions together)' : '';
  if (bytes >= COLOCATION_MAX_TABLE_BYTES) {
    return { placement: 'sharded', placementReason: `${gib(bytes)} with indexes${parent}, at least ${gib(COLOCATION_MAX_TABLE_BYTES)}` };
  }
  if (activity !== null && activity.writesPerSecond >= COLOCATION_MAX_WRITES_PER_SECOND) {
    return { placement: 'sharded', placementReason: `${round(activity.writesPerSecond)} row writes/s, at least ${COLOCATION_MAX_WRITES_PER_SECOND}` };
  }
  if (activity !== null && activity.readsPerSecond >= COLOCATION_MAX_READS_PER_SECOND) {
    return { placement: 'sharded', placementReason: `${round(activity.readsPerSecond)} row reads/s, at least ${COLOCATION_MAX_READS_PER_SECOND.toLocaleString('en-US')}` };
  }
  const rates = activity === null ? 'rates not sampled' : `${round(activity.writesPerSecond)} writes/s, ${round(activity.readsPerSecond)} reads/s`;
  return { placement: 'colocated', placementReason: `small (${gib(bytes)} with indexes${parent}) and quiet (${rates})` };
}

/** Each table's placement: by its own size and rates, then the biggest colocated ones moved out while the colocation tablet is too full. */
export function placeTables(tables: readonly InventoryTable[], activity: ActivitySample): AssessedTable[] {
  const assessed = tables.map((table): AssessedTable => {
    const rates = activity.sampled ? (activity.tables[activityKey(table.schema, table.name)] ?? zeroActivity()) : null;
    return { ...table, activity: rates, ...placementOf(table, rates) };
  });
  const colocated = assessed.filter((t) => t.placement === 'colocated' && holdsRows(t)).sort((a, b) => b.tableBytes + b.indexBytes - (a.tableBytes + a.indexBytes));
  let colocatedBytes = colocated.reduce((sum, t) => sum + t.tableBytes + t.indexBytes, 0);
  for (const table of colocated) {
    if (colocatedBytes <= COLOCATION_MAX_TOTAL_BYTES) break;
    table.placement = 'sharded';
    table.placementReason = `one of the biggest small tables, moved out to keep the colocation tablet under ${gib(COLOCATION_MAX_TOTAL_BYTES)}`;
    colocatedBytes -= table.tableBytes + table.indexBytes;
  }
  return assessed;
}

function zeroActivity(): TableActivity {
  return { readsPerSecond: 0, insertsPerSecond: 0, updatesPerSecond: 0, deletesPerSecond: 0, writesPerSecond: 0 };
}

/** The cluster to start with, from the placed tables and the sampled rates, with the arithmetic in words. */
export function recommendSizing(tables: readonly AssessedTable[], activity: ActivitySample): SizingRecommendation {
  const leaves = tables.filter(holdsRows);
  const bytesOf = (placement: 'colocated' | 'sharded'): number =>
    leaves.filter((t) => t.placement === placement).reduce((sum, t) => sum + t.tableBytes + t.indexBytes, 0);
  const colocatedBytes = bytesOf('colocated');
  const shardedBytes = bytesOf('sharded');
  const totalBytes = colocatedBytes + shardedBytes;
  const rationale: string[] = [];
  const replicated = totalBytes * REPLICATION_FACTOR;
  const nodesForData = Math.ceil(replicated / REPLICATED_BYTES_PER_NODE);
  rationale.push(
    `Data: ${gib(totalBytes)} of tables and indexes (PostgreSQL's on-disk size; YugabyteDB compresses, so this errs high), ` +
      `x${REPLICATION_FACTOR} replicas = ${gib(replicated)}; at ${gib(REPLICATED_BYTES_PER_NODE)} per node that needs ${nodesForData} node(s).`,
  );
  let vcpus = 0;
  if (activity.sampled) {
    const writeVcpus = (activity.writesPerSecond * PEAK_HEADROOM) / WRITES_PER_VCPU;
    const readVcpus = (activity.readsPerSecond * PEAK_HEADROOM) / READS_PER_VCPU;
    vcpus = Math.ceil(writeVcpus + readVcpus);
    rationale.push(
      `Load: ${round(activity.writesPerSecond)} row writes/s and ${round(activity.readsPerSecond)} row reads/s sampled over ${round(activity.intervalSeconds)} s, ` +
        `x${PEAK_HEADROOM} for peaks, at ${WRITES_PER_VCPU.toLocaleString('en-US')} writes/s and ${READS_PER_VCPU.toLocaleString('en-US')} reads/s per vCPU: ${vcpus} vCPU(s) in all.`,
    );
  } else {
    rationale.push('Load: not sampled (--iops-capture-interval 0), so the vCPUs follow from the data size and the minimum node size only.');
  }
  const maxPerNode = VCPU_CHOICES[VCPU_CHOICES.length - 1] as number;
  const nodes = Math.max(MIN_NODES, nodesForData, Math.ceil(vcpus / maxPerNode));
  const vcpusPerNode = VCPU_CHOICES.find((choice) => choice * nodes >= vcpus) ?? maxPerNode;
  rationale.push(
    `Nodes: the largest of ${MIN_NODES} (one per replica), ${nodesForData} (data) and ${Math.ceil(vcpus / maxPerNode)} (load at ${maxPerNode} vCPUs a node) = ${nodes}; ` +
      `${vcpusPerNode} vCPUs each (the smallest of ${VCPU_CHOICES.join(', ')} that covers ${vcpus}), ${vcpusPerNode * MEMORY_GIB_PER_VCPU} GiB of memory each (${MEMORY_GIB_PER_VCPU} GiB per vCPU).`,
  );
  const colocatedTables = leaves.filter((t) => t.placement === 'colocated').length;
  rationale.push(
    `Placement: ${colocatedTables} table(s) colocated (${gib(colocatedBytes)}: under ${gib(COLOCATION_MAX_TABLE_BYTES)} each, under ${COLOCATION_MAX_WRITES_PER_SECOND} writes/s and ` +
      `${COLOCATION_MAX_READS_PER_SECOND.toLocaleString('en-US')} reads/s), ${leaves.length - colocatedTables} sharded (${gib(shardedBytes)}). ` +
      'Create the database WITH COLOCATION = true and the sharded tables WITH (COLOCATION = false).',
  );
  return {
    nodes,
    vcpusPerNode,
    memoryGiBPerNode: vcpusPerNode * MEMORY_GIB_PER_VCPU,
    replicationFactor: REPLICATION_FACTOR,
    colocatedTables,
    shardedTables: leaves.length - colocatedTables,
    colocatedBytes,
    shardedBytes,
    rationale,
  };
}
