// What `godwit demo` does (loaded only when it runs): src/demo/run-demo.ts with the terminal, and a
// closing summary.
import { NotAvailableError } from '../../core/errors.js';
import { runDemo } from '../../demo/run-demo.js';
import type { CommandContext } from '../command-context.js';
import { commandName } from '../command-spec.js';
import { COMMANDS } from '../registry.js';

/** The action of `godwit demo` (the spec is in demo.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { settings, terminal, signal } = context;
  const summary = await runDemo({
    print: (line) => terminal.print(line),
    isBuilt: (words) => COMMANDS.some((spec) => commandName(spec) === words && spec.run !== undefined),
    streamSeconds: settings.options.int('stream-seconds') ?? 15,
    keepFiles: settings.options.bool('keep-files'),
    signal,
  });
  terminal.print('');
  for (const c of summary.comparisons) terminal.print(`${c.moment}: ${c.identical ? 'every table identical' : 'DIFFERENCES'}`);
  for (const [i, d] of summary.downtimeSeconds.entries()) terminal.print(`downtime of cutover ${i + 1}: ${d.toFixed(1)} s`);
  if (summary.notBuilt.length > 0) terminal.print(`not built in this version, so not shown: ${summary.notBuilt.map((w) => `\`godwit ${w}\``).join(', ')}`);
  terminal.print(`demo finished in ${summary.seconds.toFixed(0)} s`);
  // The demo exists to show the whole workflow: a missing cutover or fall-back step is a failure to say so.
  const missing = summary.notBuilt.find((words) => /cutover|from target|to source/.test(words));
  if (missing !== undefined) throw new NotAvailableError(missing);
}
