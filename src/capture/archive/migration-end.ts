// When `archive changes` stops on its own: the migration has ended. `end migration` records its phase
// as done (and removes the export directory, store included); either sign ends the archiver.

import { existsSync } from 'node:fs';
import type { MigrationStore } from '../../state/store.js';

/** The phase `end migration` records when it has finished. */
export const END_MIGRATION_PHASE = 'end-migration';

/** True once the migration has ended: its store file is gone or `end migration` is recorded done. */
export function migrationEnded(storeFile: string, store: MigrationStore): boolean {
  if (!existsSync(storeFile)) return true;
  return store.getPhaseStatus(END_MIGRATION_PHASE).state === 'done';
}
