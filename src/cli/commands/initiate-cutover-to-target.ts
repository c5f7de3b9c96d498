// `godwit initiate cutover to target`: asks the running streams to switch over to the target.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const initiateCutoverToTarget: CommandSpec = {
  words: ['initiate', 'cutover', 'to', 'target'],
  summary: 'drain the source stream into the target and switch over (optionally preparing fall-back)',
  description:
    'Records the cutover request: the exporter stops at the current end of the source stream, the importer drains it ' +
    'and moves sequences forward; with --prepare-for-fall-back true the two processes then stream target changes back ' +
    'to the source.',
  options: [booleanOption('prepare-for-fall-back', 'keep the source in sync with the target after cutover', false)],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./initiate-cutover-to-target.run.js')),
};
