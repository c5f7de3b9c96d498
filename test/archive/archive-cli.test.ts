// `godwit archive changes` as a process (run from the sources with vite-node, standard input not a
// terminal): its refusals with their messages and exit codes, a run stopped by SIGTERM (exit 0), a
// run that stops when the migration ends, and SIGKILLs in the middle of archiving that leave a
// consistent state which the next run finishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ARCHIVE_STEP_PAUSE_ENV } from '../../src/capture/archive/free-segment.js';
import { END_MIGRATION_PHASE } from '../../src/capture/archive/migration-end.js';
import { ARCHIVE_INTERVAL_ENV } from '../../src/cli/commands/archive-changes.run.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { getQueueStreamHead, listQueueSegments, recordQueueApplied, registerQueueImporter } from '../../src/state/queue-store.js';
import { openStore } from '../../src/state/store.js';
import { expectedEvent, repoRoot, sleep } from '../queue/queue-helpers.js';
import { archivePlace, sha256, writeQueue, type ArchivePlace } from './archive-helpers.js';

const STREAM = 'source-to-target';

interface Run {
  child: ChildProcess;
  output: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function startArchiver(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'node_modules', 'vite-node', 'vite-node.mjs'), join(repoRoot, 'test', 'archive', 'cli-child.ts'), '--', 'archive', 'changes', ...args],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, [ARCHIVE_INTERVAL_ENV]: '200', ...env } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, output: () => stdout, done };
}

async function waitFor(what: string, predicate: () => boolean, run?: Run, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output: ${run?.output() ?? ''}`);
    await sleep(50);
  }
}

describe('archive changes (command)', () => {
  let place: ArchivePlace | undefined;
  afterEach(() => place?.cleanup());

  it('refuses settings it cannot work with, naming the problem', async () => {
    place = archivePlace('refuse');
    const exportArgs = ['--export-dir', place.exportDir.root];
    const noDir = await startArchiver([...exportArgs, '--policy', 'archive']).done;
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('--policy archive needs --archive-dir DIR');

    const inside = join(place.exportDir.root, 'data', 'archive');
    mkdirSync(inside);
    const insideRun = await startArchiver([...exportArgs, '--policy', 'archive', '--archive-dir', inside]).done;
    expect(insideRun.code).toBe(2);
    expect(insideRun.stderr).toContain(`--archive-dir ${inside} is inside the export directory`);

    const missing = await startArchiver([...exportArgs, '--policy', 'archive', '--archive-dir', join(place.base, 'nope')]).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');

    const badPolicy = await startArchiver([...exportArgs, '--policy', 'compress']).done;
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toMatch(/--policy must be .*delete.*archive.*compress/);

    const deleteWithDir = await startArchiver([...exportArgs, '--policy', 'delete', '--archive-dir', place.base]).done;
    expect(deleteWithDir.code).toBe(2);
    expect(deleteWithDir.stderr).toContain('--archive-dir is only used with --policy archive');

    const other = archivePlace('no-live', { liveExport: false });
    try {
      const noLive = await startArchiver(['--export-dir', other.exportDir.root, '--policy', 'delete']).done;
      expect(noLive.code).toBe(5);
      expect(noLive.stderr).toContain('has no live export: there are no change segments to archive');
    } finally {
      other.cleanup();
    }
  }, 120_000);

  it('deletes applied segments as importers advance, and exits 0 on SIGTERM or when the migration ends', async () => {
    place = archivePlace('delete');
    const writer = await writeQueue(place, 40);
    await writer.close();
    registerQueueImporter(place.store, STREAM, 'imp');
    const all = listQueueSegments(place.store, STREAM);
    const run = startArchiver(['--export-dir', place.exportDir.root, '--policy', 'delete']);
    await waitFor('the start line', () => run.output().includes('archive changes: will delete them'), run);
    expect(readdirSync(place.exportDir.queueDir)).toHaveLength(all.length);
    recordQueueApplied(place.store, STREAM, 'imp', all[2]!.lastVsn!);
    await waitFor('3 deletions', () => (run.output().match(/archive changes: deleted /g) ?? []).length === 3, run);
    expect(readdirSync(place.exportDir.queueDir)).toHaveLength(all.length - 3);
    run.child.stdin?.end(); // closed standard input changes nothing
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('archive changes: stopped (interrupted by SIGTERM); 3 segment(s)');

    const again = startArchiver(['--export-dir', place.exportDir.root, '--policy', 'delete']);
    await waitFor('the start line', () => again.output().includes('will delete'), again);
    place.store.setPhaseStatus(END_MIGRATION_PHASE, 'done');
    const ended = await again.done;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('archive changes: the migration has ended');
  }, 120_000);

  it('leaves a consistent state when SIGKILLed while archiving, and the next run finishes', async () => {
    place = archivePlace('kill');
    const writer = await writeQueue(place, 80);
    await writer.close();
    mkdirSync(place.archiveDir);
    registerQueueImporter(place.store, STREAM, 'imp');
    const all = listQueueSegments(place.store, STREAM);
    expect(all.length).toBeGreaterThan(12);
    const appliedVsn = all.at(-3)!.lastVsn! + 2;
    recordQueueApplied(place.store, STREAM, 'imp', appliedVsn);
    const eligible = all.filter((s) => s.lastVsn! <= appliedVsn);
    const hashes = new Map(all.map((s) => [s.fileName, sha256(join(place!.exportDir.queueDir, s.fileName))]));
    const args = ['--export-dir', place.exportDir.root, '--policy', 'archive', '--archive-dir', place.archiveDir];

    const checkConsistent = (): number => {
      const store = openStore(place!.exportDir.storeFile);
      try {
        let archived = 0;
        for (const s of listQueueSegments(store, STREAM)) {
          const original = join(place!.exportDir.queueDir, s.fileName);
          if (s.archiveState === 'present') {
            expect(sha256(original)).toBe(hashes.get(s.fileName));
          } else {
            expect(s.archiveState).toBe('archived');
            expect(sha256(s.archivePath!)).toBe(hashes.get(s.fileName));
            archived += 1;
          }
          if (existsSync(original)) expect(sha256(original)).toBe(hashes.get(s.fileName));
        }
        return archived;
      } finally {
        store.close();
      }
    };

    let kills = 0;
    for (let round = 0; round < 4; round += 1) {
      const before = checkConsistent();
      if (before === eligible.length) break;
      const run = startArchiver(args, { [ARCHIVE_STEP_PAUSE_ENV]: '120' });
      await waitFor('an archived segment', () => /archive changes: archived /.test(run.output()) || run.output().includes('removed'), run);
      await sleep(Math.floor(Math.random() * 300));
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
      kills += 1;
      checkConsistent();
    }
    expect(kills).toBeGreaterThan(0);

    const last = startArchiver(args);
    // While it runs only the store is read (the files change under a reader); the full check follows the stop.
    const archivedInStore = (): number => {
      const store = openStore(place!.exportDir.storeFile);
      try {
        return listQueueSegments(store, STREAM).filter((s) => s.archiveState === 'archived').length;
      } finally {
        store.close();
      }
    };
    await waitFor('every applied segment archived', () => archivedInStore() === eligible.length, last);
    last.child.kill('SIGTERM');
    expect((await last.done).code).toBe(0);
    expect(checkConsistent()).toBe(eligible.length);
    const remaining = readdirSync(place.exportDir.queueDir).sort();
    expect(remaining).toEqual(all.filter((s) => s.lastVsn! > appliedVsn).map((s) => s.fileName));
    const copies = readdirSync(join(place.archiveDir, place.store.getMigrationId())).sort();
    expect(copies).toEqual(eligible.map((s) => s.fileName));

    // The importer restarting from its applied vsn reads every event it needs.
    const head = getQueueStreamHead(place.store, STREAM).lastVsn;
    const reader = openQueueReader({ store: place.store, queueDir: place.exportDir.queueDir, stream: STREAM, fromVsn: appliedVsn + 1 });
    let expected = appliedVsn + 1;
    for (let batch = await reader.read(100); batch.length > 0; batch = await reader.read(100)) {
      for (const event of batch) {
        expect(event).toEqual(expectedEvent(expected));
        expected += 1;
      }
    }
    reader.close();
    expect(expected - 1).toBe(head);
  }, 180_000);
});
