// `godwit version`: which godwit and Node.js this is, for bug reports.
import { GODWIT_VERSION } from '../../core/version.js';
import type { CommandSpec } from '../command-spec.js';

export const version: CommandSpec = {
  words: ['version'],
  summary: 'print the godwit version',
  description: 'Prints the godwit version and the Node.js version it runs on.',
  options: [],
  databases: [],
  needsExportDir: false,
  exclusive: false,
  ownsState: false,
  run: async ({ terminal }) => {
    terminal.print(`godwit ${GODWIT_VERSION} (Node.js ${process.versions.node})`);
  },
};
