// The cutover state machine (pure) and its persistence in the migration store: allowed and forbidden
// transitions, the three labels users see, a second request refused, cutover to source refused until
// cutover to target with fall-back is COMPLETED, and the history with timestamps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CutoverStateError, ExitCode } from '../../src/core/errors.js';
import { checkRequest, CUTOVER_STATES, next, reached, statusLabel, type CutoverState } from '../../src/cutover/cutover-states.js';
import { advanceCutover, listCutoverHistory, listCutoverSequences, readCutover, readCutoverPositions, requestCutover } from '../../src/cutover/cutover-store.js';
import { openExportDir } from '../../src/state/export-dir.js';
import { applyStartClean, planStartClean } from '../../src/state/start-clean.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';

const FALL_BACK_CHAIN = ['request', 'marker-written', 'marker-queued', 'capture-released', 'drained', 'sequences-set', 'reverse-prepared', 'completed'] as const;

describe('cutover state machine', () => {
  it('walks the chain with fall-back and without', () => {
    let state: CutoverState = 'NOT_INITIATED';
    for (const event of FALL_BACK_CHAIN) state = next({ state, prepareForFallBack: true }, event);
    expect(state).toBe('COMPLETED');
    state = 'NOT_INITIATED';
    for (const event of FALL_BACK_CHAIN.filter((e) => e !== 'reverse-prepared')) state = next({ state, prepareForFallBack: false }, event);
    expect(state).toBe('COMPLETED');
  });

  it('throws a typed error on every forbidden transition', () => {
    expect(() => next({ state: 'INITIATED', prepareForFallBack: false }, 'drained')).toThrow(CutoverStateError);
    expect(() => next({ state: 'COMPLETED', prepareForFallBack: false }, 'request')).toThrow(CutoverStateError);
    expect(() => next({ state: 'SEQUENCES_SET', prepareForFallBack: true }, 'completed')).toThrow(/reverse stream/);
    expect(() => next({ state: 'SEQUENCES_SET', prepareForFallBack: false }, 'reverse-prepared')).toThrow(/without fall-back/);
    try {
      next({ state: 'MARKER_WRITTEN', prepareForFallBack: false }, 'capture-released');
    } catch (error) {
      expect(error).toBeInstanceOf(CutoverStateError);
      expect((error as CutoverStateError).exitCode).toBe(ExitCode.state);
      expect((error as CutoverStateError).from).toBe('MARKER_WRITTEN');
    }
  });

  it('maps every step to NOT INITIATED, INITIATED or COMPLETED', () => {
    expect(CUTOVER_STATES.map(statusLabel)).toEqual(['NOT INITIATED', ...Array(7).fill('INITIATED'), 'COMPLETED']);
    expect(reached('DRAINED', 'MARKER_QUEUED')).toBe(true);
    expect(reached('MARKER_QUEUED', 'DRAINED')).toBe(false);
  });

  it('refuses cutover to source before cutover to target with fall-back is COMPLETED', () => {
    const position = (state: CutoverState, prepareForFallBack = true) => ({ state, prepareForFallBack });
    expect(() => checkRequest('to-source', { toTarget: position('NOT_INITIATED'), toSource: position('NOT_INITIATED') })).toThrow(CutoverStateError);
    expect(() => checkRequest('to-source', { toTarget: position('SEQUENCES_SET'), toSource: position('NOT_INITIATED') })).toThrow(/completed cutover to target/);
    expect(() => checkRequest('to-source', { toTarget: position('COMPLETED', false), toSource: position('NOT_INITIATED') })).toThrow(/fall-back/);
    expect(() => checkRequest('to-source', { toTarget: position('COMPLETED'), toSource: position('NOT_INITIATED') })).not.toThrow();
    expect(() => checkRequest('to-target', { toTarget: position('INITIATED'), toSource: position('NOT_INITIATED') })).toThrow(/already requested/);
  });
});

describe('cutover store', () => {
  let dir: string;
  let store: MigrationStore;
  let clock = 0;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'godwit-cutover-store-'));
    clock = Date.parse('2026-01-01T00:00:00Z');
    store = openStore(join(dir, 'godwit.db'), { clock: () => new Date((clock += 1000)) });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('persists the state, the step data and a timestamped history', () => {
    expect(readCutover(store, 'to-target').state).toBe('NOT_INITIATED');
    const requested = requestCutover(store, 'to-target', { prepareForFallBack: true });
    expect(requested).toMatchObject({ state: 'INITIATED', prepareForFallBack: true, markerVsn: null });
    expect(Number(requested.markerId)).toBeGreaterThan(0);
    expect(() => requestCutover(store, 'to-target', { prepareForFallBack: false })).toThrow(CutoverStateError);
    expect(() => requestCutover(store, 'to-source', { prepareForFallBack: false })).toThrow(/completed cutover to target/);
    advanceCutover(store, 'to-target', 'marker-written');
    advanceCutover(store, 'to-target', 'marker-queued', {
      markerVsn: 42,
      sequences: [{ schema: 'app', name: 'free', lastValue: '17', isCalled: true, readAt: 'x' }],
    });
    expect(() => advanceCutover(store, 'to-target', 'completed')).toThrow(CutoverStateError);
    expect(readCutover(store, 'to-target')).toMatchObject({ state: 'MARKER_QUEUED', markerVsn: 42 });
    expect(listCutoverSequences(store, 'to-target')).toEqual([{ schema: 'app', name: 'free', lastValue: '17', isCalled: true, readAt: 'x' }]);
    for (const event of ['capture-released', 'drained', 'sequences-set'] as const) advanceCutover(store, 'to-target', event);
    const columns = [{ schema: 'app', name: 'notes', columns: ['body', 'id'] }];
    advanceCutover(store, 'to-target', 'reverse-prepared', { reverse: { slot: 's', publication: 'p', consistentPoint: '0/1', columns } });
    advanceCutover(store, 'to-target', 'completed');
    expect(readCutoverPositions(store).toTarget).toMatchObject({ state: 'COMPLETED', reverseSlot: 's', reversePublication: 'p', reverseConsistentPoint: '0/1', reverseColumns: columns });
    const history = listCutoverHistory(store);
    expect(history.map((h) => h.to)).toEqual(['INITIATED', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'CAPTURE_RELEASED', 'DRAINED', 'SEQUENCES_SET', 'REVERSE_PREPARED', 'COMPLETED']);
    expect(history.every((h, i) => i === 0 || h.at > (history[i - 1]?.at ?? ''))).toBe(true);
    // Now cutover to source may be requested.
    expect(requestCutover(store, 'to-source', { prepareForFallBack: false }).state).toBe('INITIATED');
  });
});

describe('--start-clean of the export', () => {
  it('forgets a cutover to target that has not completed (it belonged to the discarded stream)', () => {
    const root = mkdtempSync(join(tmpdir(), 'godwit-cutover-clean-'));
    try {
      const dir = openExportDir(join(root, 'export'));
      const store = openStore(dir.storeFile);
      try {
        requestCutover(store, 'to-target', { prepareForFallBack: true });
        advanceCutover(store, 'to-target', 'marker-written');
        applyStartClean(dir, store, planStartClean(dir, 'export-data-from-source'));
        expect(readCutover(store, 'to-target').state).toBe('NOT_INITIATED');
        expect(listCutoverHistory(store)).toEqual([]);
        expect(requestCutover(store, 'to-target', { prepareForFallBack: false }).state).toBe('INITIATED');
      } finally {
        store.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
