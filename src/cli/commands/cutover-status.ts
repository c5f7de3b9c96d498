// `godwit cutover status`: where each cutover stands.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const cutoverStatus: CommandSpec = {
  words: ['cutover', 'status'],
  summary: 'print the status of the cutover to target (and to source)',
  description: 'Prints `cutover to target status: NOT INITIATED|INITIATED|COMPLETED` and, with fall-back, the cutover to source status.',
  options: [
    {
      name: 'output-format',
      kind: { type: 'enum', choices: ['text', 'json'] },
      valueName: 'FORMAT',
      default: 'text',
      description: 'text or json',
    },
  ],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./cutover-status.run.js')),
};
