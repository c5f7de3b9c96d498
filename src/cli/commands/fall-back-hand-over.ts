// The hand-over after a cutover to target prepared for fall-back (DESIGN.md section 2, as the
// established tool does it): the process that ran `export data from source` continues as `import data to
// source` (it has the source's credentials), the one that ran `import data to target` as `export data from
// target` (it has the target's). The new command runs exactly as if started by hand (its own lock, log and
// settings: run-command.ts handOver), so after a crash the user starts it by hand and nothing differs.
import type { CutoverRecord } from '../../cutover/cutover-store.js';
import { readCutover } from '../../cutover/cutover-store.js';
import type { CommandContext } from '../command-context.js';

/** Which fall-back command each forward command becomes. */
const BECOMES = {
  'export data from source': ['import', 'data', 'to', 'source'],
  'import data to target': ['export', 'data', 'from', 'target'],
} as const;

/** How often the exporter looks whether the importer completed the cutover. */
const POLL_MS = 250;

/**
 * After this process's part of a cutover to target with fall-back: waits (the exporter) until the
 * cutover is COMPLETED, then runs the fall-back command this process becomes. Returns when that command
 * ends (stopped, or cutover to source done), or at once when the user stops the wait or another process
 * already runs it. Does nothing for a cutover without fall-back.
 */
export async function handOverToFallBack(context: CommandContext, from: keyof typeof BECOMES, record: CutoverRecord): Promise<void> {
  if (!record.prepareForFallBack || context.store === undefined) return;
  const { store, terminal } = context;
  const next = BECOMES[from].join(' ');
  let completed = readCutover(store, 'to-target').state === 'COMPLETED';
  if (!completed) terminal.print(`${from}: waiting for the cutover to target to complete; this process then continues as \`godwit ${next}\`.`);
  while (!completed && !context.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      function done(): void {
        clearTimeout(timer);
        context.signal.removeEventListener('abort', done);
        resolve();
      }
      context.signal.addEventListener('abort', done);
    });
    completed = readCutover(store, 'to-target').state === 'COMPLETED';
  }
  if (!completed) {
    terminal.print(`${from}: stopped before the cutover to target completed; start \`godwit ${next}\` once \`godwit cutover status\` says COMPLETED.`);
    return;
  }
  if (context.signal.aborted) return;
  terminal.print(`${from}: cutover to target COMPLETED with fall-back: this process continues as \`godwit ${next}\` (after a crash, start that command by hand).`);
  const outcome = await context.handOver(BECOMES[from]);
  if (outcome === 'running-elsewhere') terminal.print(`${from}: \`godwit ${next}\` is already running in another process; this one ends.`);
}
