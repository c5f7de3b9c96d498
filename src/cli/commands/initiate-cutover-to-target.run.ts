// What `godwit initiate cutover to target` does (loaded only when it runs): records the request in the
// cutover state machine. The running `export data from source` and `import data to target` notice it
// and carry the cutover out (src/cutover/export-cutover.ts, import-cutover.ts); this command only asks.
import { StateError } from '../../core/errors.js';
import { requestCutover } from '../../cutover/cutover-store.js';
import { getLiveExport } from '../../state/live-export-store.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit initiate cutover to target` (the spec is in initiate-cutover-to-target.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal, logger } = context;
  if (store === undefined) throw new Error('initiate cutover to target runs in an export directory');
  if (getLiveExport(store, 'source-to-target') === undefined) {
    throw new StateError('There is no live migration to cut over: this export directory holds no snapshot-and-changes export.', {
      hint: 'Cutover to target follows `godwit export data from source --export-type snapshot-and-changes` and `godwit import data to target`; a snapshot-only migration needs no cutover.',
    });
  }
  const prepareForFallBack = settings.options.bool('prepare-for-fall-back');
  const record = requestCutover(store, 'to-target', { prepareForFallBack });
  logger.info('cutover to target requested', { prepareForFallBack, markerId: record.markerId });
  terminal.print(
    `initiate cutover to target: requested${prepareForFallBack ? ' with fall-back preparation' : ''}. ` +
      'The running `export data from source` writes the end marker and releases the source; the running `import data to target` ' +
      `applies every change up to it, sets the sequences${prepareForFallBack ? ' and prepares the fall-back stream' : ''}. ` +
      'Follow it with `godwit cutover status`.',
  );
  return Promise.resolve();
}
