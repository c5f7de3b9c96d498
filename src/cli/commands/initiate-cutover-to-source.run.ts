// What `godwit initiate cutover to source` does (loaded only when it runs): records the request in the
// cutover state machine (refused unless a cutover to target prepared for fall-back is COMPLETED, and
// refused a second time). The running `export data from target` and `import data to source` notice it
// and carry the cutover out, the mirror of cutover to target (src/cutover/export-cutover.ts,
// import-cutover.ts); this command only asks.
import { requestCutover } from '../../cutover/cutover-store.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit initiate cutover to source` (the spec is in initiate-cutover-to-source.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, terminal, logger } = context;
  if (store === undefined) throw new Error('initiate cutover to source runs in an export directory');
  const record = requestCutover(store, 'to-source', { prepareForFallBack: false });
  logger.info('cutover to source requested', { markerId: record.markerId });
  terminal.print(
    'initiate cutover to source: requested. The running `export data from target` writes the end marker on the target and releases ' +
      "the target's fall-back slot and publication; the running `import data to source` applies every change up to it and sets the " +
      "source's sequences past the target's values. Follow it with `godwit cutover status`.",
  );
  return Promise.resolve();
}
