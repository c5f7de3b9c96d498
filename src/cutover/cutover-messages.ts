// What the exporter and importer print when their part of a cutover is done: where the cutover stands
// and, with fall-back, the commands that keep the source in sync from now on. Both directions: cutover
// to target (`export data from source`, `import data to target`) and its mirror, cutover to source
// (`export data from target`, `import data to source`).

import type { CutoverDirection } from './cutover-states.js';
import type { CutoverRecord } from './cutover-store.js';

const FALL_BACK_NEXT =
  'Fall-back is prepared: `godwit export data from target` and `godwit import data to source` keep the source in sync with the target; ' +
  'once the cutover is COMPLETED this importer continues as the first and the exporter as the second (after a crash, start them by hand). ' +
  '`godwit initiate cutover to source` switches back later.';

/** The commands and databases of one direction, for the messages. */
interface DirectionWords {
  exporter: string;
  importer: string;
  from: string;
  to: string;
  stream: string;
}

function wordsOf(direction: CutoverDirection): DirectionWords {
  return direction === 'to-target'
    ? { exporter: 'export data from source', importer: 'import data to target', from: 'source', to: 'target', stream: 'change stream' }
    : { exporter: 'export data from target', importer: 'import data to source', from: 'target', to: 'source', stream: 'fall-back stream' };
}

/** The exporter's last line: the stream is complete and released; what happens next. */
export function cutoverExportDoneMessage(record: CutoverRecord, queueEvents: number): string {
  const w = wordsOf(record.direction);
  const parts = [
    `${w.exporter}: cutover to ${w.to}: the ${w.stream} is complete up to the end marker (vsn ${record.markerVsn ?? '?'}, ` +
      `${queueEvents} events in the queue); the replication slot and publication on the ${w.from} are dropped.`,
    record.state === 'COMPLETED'
      ? `Cutover to ${w.to} is COMPLETED.`
      : `\`godwit ${w.importer}\` applies the rest, sets the sequences and completes the cutover (\`godwit cutover status\` follows it).`,
  ];
  if (record.prepareForFallBack) parts.push(FALL_BACK_NEXT);
  return parts.join(' ');
}

/** The importer's last line: cutover completed; the application may use the database that took over. */
export function cutoverImportDoneMessage(record: CutoverRecord, sequences: { set: number; alreadyAhead: number }): string {
  const w = wordsOf(record.direction);
  const parts = [
    `${w.importer}: cutover to ${w.to} COMPLETED: every change up to the end marker (vsn ${record.markerVsn ?? '?'}) is applied, ` +
      `${sequences.set} sequence(s) moved forward${sequences.alreadyAhead > 0 ? ` (${sequences.alreadyAhead} already ahead)` : ''}. Point the application at the ${w.to}.`,
  ];
  if (record.prepareForFallBack) {
    parts.push(`The fall-back stream's publication ${record.reversePublication ?? '?'} and replication slot ${record.reverseSlot ?? '?'} exist on the target.`);
    parts.push(FALL_BACK_NEXT);
  }
  return parts.join(' ');
}
