// What `godwit export data status` does (loaded only when it runs), and the export status table
// that export data from source also prints.
import Table from 'cli-table3';
import { readExportStatus, type ExportStatus } from '../../snapshot/export/export-status.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit export data status` (the spec is in export-data-status.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, terminal, settings } = context;
  if (store === undefined) throw new Error('export data status runs in an export directory');
  const status = readExportStatus(store);
  if (settings.options.string('output-format') === 'json') {
    terminal.print(JSON.stringify(status, null, 2));
    return;
  }
  if (!status.planned) {
    terminal.print('export data status: the data export has not started (run `godwit export data from source`).');
    return;
  }
  terminal.print(`export data status: ${status.finished ? 'complete' : 'in progress or interrupted'}`);
  terminal.print(renderExportStatusTable(status));
}

/** The per-table status as a terminal table, with a total row. */
export function renderExportStatusTable(status: ExportStatus): string {
  const table = new Table({
    head: ['table', 'state', 'chunks exported / planned', 'rows exported', 'MB'],
    style: { head: [], border: [] },
    colAligns: ['left', 'left', 'right', 'right', 'right'],
  });
  const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(1);
  for (const t of status.tables) {
    table.push([t.tableKey, t.state, `${t.chunksExported} / ${t.chunksPlanned}`, t.rowsExported.toLocaleString('en-US'), mb(t.bytesExported)]);
  }
  const total = status.total;
  table.push(['total', status.finished ? 'done' : '', `${total.chunksExported} / ${total.chunksPlanned}`, total.rowsExported.toLocaleString('en-US'), mb(total.bytesExported)]);
  return table.toString();
}
