// `godwit initiate cutover to source`: the fall-back switch, the mirror of cutover to target.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const initiateCutoverToSource: CommandSpec = {
  words: ['initiate', 'cutover', 'to', 'source'],
  summary: 'switch the application back to the source (fall-back)',
  description:
    'Records the request: the target stream is drained into the source, the target slot and publication are dropped and ' +
    'sequences on the source move past the target values.',
  options: [],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./initiate-cutover-to-source.run.js')),
};
