// `godwit archive changes`: frees disk from change segments every importer has applied.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const archiveChanges: CommandSpec = {
  words: ['archive', 'changes'],
  summary: 'delete or move change segments that every importer has applied',
  description:
    'Runs until the migration ends, deleting (policy delete) or moving to the archive directory (policy archive) ' +
    'every change segment that all importers have applied; never the segment being written. Stops with exit status 0 ' +
    'on SIGINT/SIGTERM; run it again to continue.',
  options: [
    {
      name: 'policy',
      kind: { type: 'enum', choices: ['delete', 'archive'] },
      valueName: 'POLICY',
      required: true,
      description: 'delete applied segments, or archive them to --archive-dir',
    },
    { name: 'archive-dir', kind: { type: 'path' }, valueName: 'DIR', description: 'where archived segments go' },
    {
      name: 'fs-utilization-threshold',
      kind: { type: 'int', min: 0, max: 100 },
      valueName: 'PERCENT',
      description: 'free segments only while the export directory\'s file system is more than this many percent used (default: always)',
    },
  ],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./archive-changes.run.js')),
};
