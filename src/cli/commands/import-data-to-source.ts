// `godwit import data to source`: the fall-back stream's apply side.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { PARALLEL_JOBS } from '../shared-options.js';

export const importDataToSource: CommandSpec = {
  words: ['import', 'data', 'to', 'source'],
  summary: 'after cutover, apply the target changes to the source (restart it by hand after a crash)',
  description:
    'Applies the fall-back change stream to the source exactly once, keeping it ready for a cutover back. Runs with ' +
    'session_replication_role = replica; without the right to set it, lists the triggers and foreign keys to disable and ' +
    'goes on only with --yes.',
  options: [PARALLEL_JOBS],
  databases: ['source'],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./import-data-to-source.run.js')),
};
