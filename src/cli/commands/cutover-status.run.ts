// What `godwit cutover status` does (loaded only when it runs): prints where each cutover stands, from
// the persisted cutover state machine (src/cutover), as text or JSON.
import { describeState, statusLabel, type CutoverDirection } from '../../cutover/cutover-states.js';
import { listCutoverHistory, readCutover, type CutoverRecord } from '../../cutover/cutover-store.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit cutover status` (the spec is in cutover-status.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal } = context;
  if (store === undefined) throw new Error('cutover status runs in an export directory');
  const toTarget = readCutover(store, 'to-target');
  const toSource = readCutover(store, 'to-source');
  const showToSource = toTarget.prepareForFallBack || toSource.state !== 'NOT_INITIATED';
  if (settings.options.string('output-format') === 'json') {
    const json = {
      cutoverToTarget: directionJson(toTarget),
      ...(showToSource ? { cutoverToSource: directionJson(toSource) } : {}),
      history: listCutoverHistory(store),
    };
    terminal.print(JSON.stringify(json, null, 2));
    return Promise.resolve();
  }
  terminal.print(statusLines(toTarget));
  if (showToSource) terminal.print(statusLines(toSource));
  return Promise.resolve();
}

function words(direction: CutoverDirection): string {
  return direction === 'to-target' ? 'cutover to target' : 'cutover to source';
}

/** The required first line, then (while in progress) the step it is at. */
function statusLines(record: CutoverRecord): string {
  const first = `${words(record.direction)} status: ${statusLabel(record.state)}`;
  if (statusLabel(record.state) !== 'INITIATED') return first;
  return `${first}\n  step: ${record.state} (${describeState(record.state)}), since ${record.updatedAt ?? '?'}`;
}

function directionJson(record: CutoverRecord): Record<string, unknown> {
  return {
    status: statusLabel(record.state),
    step: record.state,
    prepareForFallBack: record.prepareForFallBack,
    requestedAt: record.requestedAt,
    updatedAt: record.updatedAt,
    markerVsn: record.markerVsn,
    reverseSlot: record.reverseSlot,
    reversePublication: record.reversePublication,
  };
}
