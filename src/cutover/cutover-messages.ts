// What the exporter and importer print when their part of a cutover is done: where the cutover stands
// and, with fall-back, the commands that keep the source in sync from now on.

import type { CutoverRecord } from './cutover-store.js';

const FALL_BACK_NEXT =
  'Fall-back is prepared: start `godwit export data from target` and `godwit import data to source` to keep the source in sync with the target ' +
  '(`godwit initiate cutover to source` switches back later).';

/** The exporter's last line: the source stream is complete and released; what happens next. */
export function cutoverExportDoneMessage(record: CutoverRecord, queueEvents: number): string {
  const parts = [
    `export data from source: cutover to target: the change stream is complete up to the end marker (vsn ${record.markerVsn ?? '?'}, ` +
      `${queueEvents} events in the queue); the replication slot and publication on the source are dropped.`,
    record.state === 'COMPLETED'
      ? 'Cutover to target is COMPLETED.'
      : '`godwit import data to target` applies the rest, sets the sequences and completes the cutover (`godwit cutover status` follows it).',
  ];
  if (record.prepareForFallBack) parts.push(FALL_BACK_NEXT);
  return parts.join(' ');
}

/** The importer's last line: cutover completed; the application may use the target. */
export function cutoverImportDoneMessage(record: CutoverRecord, sequences: { set: number; alreadyAhead: number }): string {
  const parts = [
    `import data to target: cutover to target COMPLETED: every change up to the end marker (vsn ${record.markerVsn ?? '?'}) is applied, ` +
      `${sequences.set} sequence(s) moved forward${sequences.alreadyAhead > 0 ? ` (${sequences.alreadyAhead} already ahead)` : ''}. Point the application at the target.`,
  ];
  if (record.prepareForFallBack) {
    parts.push(`The fall-back stream's publication ${record.reversePublication ?? '?'} and replication slot ${record.reverseSlot ?? '?'} exist on the target.`);
    parts.push(FALL_BACK_NEXT);
  }
  return parts.join(' ');
}
