// The codes of queue payloads (event-codec.ts writes them, event-decoder.ts and event-codec-v1.ts read
// them): operation codes, flags, value kinds, and the fast paths of Buffer the codecs use.

import type { ChangeOp } from '../../core/change-event.js';

/** The one-letter code of each operation (the byte in version 2, the letter in version 1). */
export const OP_CODES = new Map<string, string>([
  ['insert', 'I'],
  ['update', 'U'],
  ['delete', 'D'],
  ['truncate', 'T'],
  ['marker', 'M'],
] satisfies [ChangeOp, string][]);
/** Operations by their letter (version 1) and by their byte (version 2), and the byte of each operation. */
export const OPS_BY_CODE = new Map<unknown, ChangeOp>([...OP_CODES].map(([op, code]) => [code, op as ChangeOp]));
export const OPS_BY_BYTE: (ChangeOp | undefined)[] = new Array<ChangeOp | undefined>(256).fill(undefined);
export const BYTE_BY_OP = new Map<string, number>();
for (const [op, code] of OP_CODES) {
  OPS_BY_BYTE[code.charCodeAt(0)] = op as ChangeOp;
  BYTE_BY_OP.set(op, code.charCodeAt(0));
}

/** Bits of a version-2 payload's flags byte: which optional parts follow. */
export const FLAG_COMMIT_TIME = 1;
export const FLAG_NEW_VALUES = 2;
export const FLAG_OLD_KEY = 4;

/** Fast paths of Buffer (present in every Node version godwit supports; `write` with its argument checks is the fallback). */
export interface FastBuffer extends Buffer {
  utf8Write?(text: string, offset: number, length: number): number;
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}

/** Value kinds (see the value encoding in event-codec.ts); short kinds carry the length. */
export const KIND_NULL = 0;
export const KIND_UNCHANGED = 1;
export const KIND_UTF8_LONG = 2;
export const KIND_ASCII_LONG = 3;
export const KIND_ASCII_SHORT = 4;
export const KIND_UTF8_SHORT = 130;
export const SHORT_MAX = 125;
