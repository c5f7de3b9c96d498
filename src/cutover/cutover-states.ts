// The cutover state machine, pure (no I/O): the states one cutover direction goes through, the events
// that move it, and the one function that decides a transition. Persistence is cutover-store.ts; the
// steps that cause the events are export-cutover.ts (the capturing process) and import-cutover.ts (the
// applying process).
//
// Each direction (cutover to target; later cutover to source, its mirror) is one linear chain of
// fine-grained states, each recorded once its step is durable, so a process killed at any instant
// resumes at the first step not recorded (every step is idempotent on the databases):
//
//   NOT_INITIATED --request--> INITIATED                  the user asked (initiate cutover to ...)
//     --marker-written-->      MARKER_WRITTEN             the sentinel row is committed on the capturing database
//     --marker-queued-->       MARKER_QUEUED              the stream delivered it; the queue holds it durably (its
//                                                         vsn recorded) with the capturing side's sequence values
//     --capture-released-->    CAPTURE_RELEASED           the capturing side's slot and publication are dropped
//     --drained-->             DRAINED                    every event up to the marker is applied and committed
//     --sequences-set-->       SEQUENCES_SET              the new side's sequences are past the old side's values
//     --reverse-prepared-->    REVERSE_PREPARED           (fall-back only) publication + slot for the reverse stream
//     --completed-->           COMPLETED
//
// The user sees three states (NOT INITIATED, INITIATED, COMPLETED: statusLabel); the steps in between
// are what makes the work resumable and what `cutover status` may show as detail. Cutover to source may
// be requested only after a cutover to target prepared for fall-back is COMPLETED (checkRequest).

import { CutoverStateError } from '../core/errors.js';

/** The two cutover directions. */
export const CUTOVER_DIRECTIONS = ['to-target', 'to-source'] as const;
export type CutoverDirection = (typeof CUTOVER_DIRECTIONS)[number];

/** Every state of one direction, in chain order. */
export const CUTOVER_STATES = [
  'NOT_INITIATED',
  'INITIATED',
  'MARKER_WRITTEN',
  'MARKER_QUEUED',
  'CAPTURE_RELEASED',
  'DRAINED',
  'SEQUENCES_SET',
  'REVERSE_PREPARED',
  'COMPLETED',
] as const;
export type CutoverState = (typeof CUTOVER_STATES)[number];

/** The events that move a direction along its chain. */
export const CUTOVER_EVENTS = [
  'request',
  'marker-written',
  'marker-queued',
  'capture-released',
  'drained',
  'sequences-set',
  'reverse-prepared',
  'completed',
] as const;
export type CutoverEvent = (typeof CUTOVER_EVENTS)[number];

/** What one direction looks like to the transition rules. */
export interface CutoverPosition {
  state: CutoverState;
  /** Cutover to target with --prepare-for-fall-back true: the reverse stream is prepared before COMPLETED. */
  prepareForFallBack: boolean;
}

/** The only transitions there are: from-state -> event -> to-state. */
const TRANSITIONS: Readonly<Record<CutoverState, Partial<Record<CutoverEvent, CutoverState>>>> = {
  NOT_INITIATED: { request: 'INITIATED' },
  INITIATED: { 'marker-written': 'MARKER_WRITTEN' },
  MARKER_WRITTEN: { 'marker-queued': 'MARKER_QUEUED' },
  MARKER_QUEUED: { 'capture-released': 'CAPTURE_RELEASED' },
  CAPTURE_RELEASED: { drained: 'DRAINED' },
  DRAINED: { 'sequences-set': 'SEQUENCES_SET' },
  SEQUENCES_SET: { 'reverse-prepared': 'REVERSE_PREPARED', completed: 'COMPLETED' },
  REVERSE_PREPARED: { completed: 'COMPLETED' },
  COMPLETED: {},
};

/**
 * The state after `event`, or a CutoverStateError when the machine forbids it. The one place that
 * decides transitions: the store applies only what this returns. With fall-back the reverse stream
 * must be prepared before COMPLETED (so no write on the new side can be missed); without it,
 * REVERSE_PREPARED is never entered.
 */
export function next(position: CutoverPosition, event: CutoverEvent, direction: CutoverDirection = 'to-target'): CutoverState {
  const to = TRANSITIONS[position.state][event];
  if (to === undefined) {
    throw new CutoverStateError(direction, position.state, event, `Cutover ${directionWords(direction)}: "${event}" is not allowed in state ${position.state}.`);
  }
  if (position.prepareForFallBack && position.state === 'SEQUENCES_SET' && event === 'completed') {
    throw new CutoverStateError(direction, position.state, event, `Cutover ${directionWords(direction)} with fall-back cannot complete before the reverse stream is prepared.`);
  }
  if (!position.prepareForFallBack && event === 'reverse-prepared') {
    throw new CutoverStateError(direction, position.state, event, `Cutover ${directionWords(direction)} was requested without fall-back: there is no reverse stream to prepare.`);
  }
  return to;
}

/** True when `state` is `step` or later in the chain; the resume logic asks "is this step done?". */
export function reached(state: CutoverState, step: CutoverState): boolean {
  return CUTOVER_STATES.indexOf(state) >= CUTOVER_STATES.indexOf(step);
}

/** The three states users see (`cutover status`, DESIGN.md section 2). */
export type CutoverStatusLabel = 'NOT INITIATED' | 'INITIATED' | 'COMPLETED';

/** Maps a fine-grained state to what `cutover status` prints. */
export function statusLabel(state: CutoverState): CutoverStatusLabel {
  if (state === 'NOT_INITIATED') return 'NOT INITIATED';
  if (state === 'COMPLETED') return 'COMPLETED';
  return 'INITIATED';
}

/** A line per step for humans (`cutover status`, the report's history). */
export function describeState(state: CutoverState): string {
  switch (state) {
    case 'NOT_INITIATED':
      return 'not initiated';
    case 'INITIATED':
      return 'requested; waiting for the exporter to write the end marker';
    case 'MARKER_WRITTEN':
      return 'end marker written; waiting for the change stream to deliver it';
    case 'MARKER_QUEUED':
      return 'end marker in the change queue; the exporter releases its replication slot and publication';
    case 'CAPTURE_RELEASED':
      return 'replication slot and publication dropped; the importer applies everything up to the end marker';
    case 'DRAINED':
      return 'every change up to the end marker applied; sequences are set next';
    case 'SEQUENCES_SET':
      return 'sequences set past the values handed out';
    case 'REVERSE_PREPARED':
      return 'publication and replication slot for the fall-back stream created';
    case 'COMPLETED':
      return 'completed';
  }
}

/** The two directions as the other side of a request sees them. */
export interface CutoverPositions {
  toTarget: CutoverPosition;
  toSource: CutoverPosition;
}

/**
 * Refuses a cutover request the machine does not allow: a second request of the same direction, and
 * cutover to source unless cutover to target was prepared for fall-back and is COMPLETED. Used by
 * `initiate cutover to target` now and by `initiate cutover to source` when it is built.
 */
export function checkRequest(direction: CutoverDirection, positions: CutoverPositions): void {
  const own = direction === 'to-target' ? positions.toTarget : positions.toSource;
  if (own.state !== 'NOT_INITIATED') {
    throw new CutoverStateError(direction, own.state, 'request', `Cutover ${directionWords(direction)} was already requested (now ${statusLabel(own.state)}, step ${own.state}).`, {
      hint: 'Run `godwit cutover status` to follow it; the running export and import commands carry it out.',
    });
  }
  if (direction === 'to-source') {
    const forward = positions.toTarget;
    if (forward.state !== 'COMPLETED') {
      throw new CutoverStateError(direction, own.state, 'request', `Cutover to source needs a completed cutover to target (cutover to target is ${statusLabel(forward.state)}).`, {
        hint: 'Initiate cutover to target with --prepare-for-fall-back true and wait until `godwit cutover status` says COMPLETED.',
      });
    }
    if (!forward.prepareForFallBack) {
      throw new CutoverStateError(direction, own.state, 'request', 'Cutover to source needs fall-back, and the cutover to target was made without --prepare-for-fall-back true.', {
        hint: 'Without the reverse stream the source did not follow the target after cutover; switching back would lose writes.',
      });
    }
  }
}

/** "to target" / "to source". */
export function directionWords(direction: CutoverDirection): string {
  return direction === 'to-target' ? 'to target' : 'to source';
}
