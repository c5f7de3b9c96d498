// `godwit export data from target`: the fall-back stream's capture side.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const exportDataFromTarget: CommandSpec = {
  words: ['export', 'data', 'from', 'target'],
  summary: 'after cutover, stream the target changes for the fall-back (restart it by hand after a crash)',
  description: 'Streams every change made on the target after cutover into the change queue, so the source can be kept in sync.',
  options: [],
  databases: ['target'],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./export-data-from-target.run.js')),
};
