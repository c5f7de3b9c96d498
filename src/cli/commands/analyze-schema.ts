// `godwit analyze-schema`: which exported DDL needs changes before it can go to the target.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const analyzeSchemaCommand: CommandSpec = {
  words: ['analyze-schema'],
  summary: 'report DDL that needs changes for the target, with a suggestion for each issue',
  description:
    'Analyses the exported schema files and reports every statement that the target does not support or that live ' +
    'migration cannot stream, with category, object, reason and suggestion, in reports/schema_analysis_report.<format>.',
  options: [
    {
      name: 'output-format',
      kind: { type: 'enum', choices: ['html', 'json', 'txt', 'xml'] },
      valueName: 'FORMAT',
      default: 'html',
      description: 'report format: html, json, txt or xml',
    },
  ],
  databases: [],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./analyze-schema.run.js')),
};
