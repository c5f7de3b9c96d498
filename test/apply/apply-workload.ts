// A deterministic random workload as change events, generated from an in-memory model of three tables,
// so the expected final state is known independently of the apply: hot rows updated again and again,
// updates that leave a large value UNCHANGED, inserts, deletes, delete + reinsert, primary-key changes
// (also swaps of two keys) and unique values swapped between rows inside one transaction.
import { UNCHANGED, type ChangeInput } from '../../src/core/change-event.js';
import { del, ins, upd } from './apply-helpers.js';

export const WORKLOAD_SQL = `
  CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL, note text, payload text);
  CREATE TABLE uq (id int PRIMARY KEY, code text NOT NULL UNIQUE, v int NOT NULL);
  CREATE TABLE kc (id int PRIMARY KEY, v text NOT NULL);
`;

const ACCT = { schema: 'public', name: 'acct' };
const UQ = { schema: 'public', name: 'uq' };
const KC = { schema: 'public', name: 'kc' };
const ID = ['id'];
const ACCT_COLS = ['id', 'bal', 'note', 'payload'];

/** The workload and the rows each table must end with (sorted by id, values as text). */
export interface Workload {
  transactions: ChangeInput[][];
  expected: { acct: string[][]; uq: string[][]; kc: string[][] };
}

/** Generates `count` transactions from `seed`. */
export function generateWorkload(count: number, seed: number): Workload {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const acct = new Map<number, [string, string | null, string]>();
  const uq = new Map<number, [string, number]>();
  const kc = new Map<number, string>();
  let nextId = 1;
  let nextCode = 1;
  const transactions: ChangeInput[][] = [];
  for (let n = 0; n < count; n++) {
    const tx: ChangeInput[] = [];
    const size = 1 + Math.floor(random() * 8);
    for (let i = 0; i < size; i++) {
      const r = random();
      const acctIds = [...acct.keys()];
      if (r < 0.15 || acctIds.length < 5) {
        const id = nextId++;
        const row: [string, string | null, string] = [String(Math.floor(random() * 1000)), random() < 0.2 ? null : `note ${id}`, `payload-${id}-`.repeat(20)];
        acct.set(id, row);
        tx.push(ins(ACCT, ID, ACCT_COLS, [String(id), ...row]));
      } else if (r < 0.55) {
        // Hot rows: the lowest ids get most updates; the payload is often not carried (unchanged TOAST).
        const id = random() < 0.6 ? (acctIds[Math.floor(random() * Math.min(3, acctIds.length))] as number) : pick(acctIds);
        const row = acct.get(id) as [string, string | null, string];
        row[0] = String(Number(row[0]) + Math.floor(random() * 100) - 50);
        const carry = random() < 0.3;
        if (carry) row[2] = `payload-${id}-${n}-`.repeat(20);
        tx.push(upd(ACCT, ID, ACCT_COLS, [String(id), row[0], row[1], carry ? row[2] : UNCHANGED]));
      } else if (r < 0.63) {
        const id = pick(acctIds);
        acct.delete(id);
        tx.push(del(ACCT, ID, [String(id)]));
        if (random() < 0.5) {
          const row: [string, string | null, string] = ['0', 're-inserted', `again-${id}`];
          acct.set(id, row);
          tx.push(ins(ACCT, ID, ACCT_COLS, [String(id), ...row]));
        }
      } else if (r < 0.75) {
        if (uq.size < 10 || random() < 0.2) {
          const id = nextId++;
          const code = `code-${nextCode++}`;
          uq.set(id, [code, 0]);
          tx.push(ins(UQ, ID, ['id', 'code', 'v'], [String(id), code, '0']));
        } else {
          const ids = [...uq.keys()];
          const a = pick(ids);
          const b = pick(ids);
          if (a === b) continue;
          const ra = uq.get(a) as [string, number];
          const rb = uq.get(b) as [string, number];
          const [ca, cb] = [ra[0], rb[0]];
          ra[1] += 1;
          rb[1] += 1;
          tx.push(upd(UQ, ID, ['id', 'code', 'v'], [String(a), `tmp-${n}-${i}`, String(ra[1])]));
          tx.push(upd(UQ, ID, ['id', 'code', 'v'], [String(b), ca, String(rb[1])]));
          tx.push(upd(UQ, ID, ['id', 'code', 'v'], [String(a), cb, String(ra[1])]));
          ra[0] = cb;
          rb[0] = ca;
        }
      } else {
        const ids = [...kc.keys()];
        if (ids.length < 6 || random() < 0.3) {
          const id = nextId++;
          kc.set(id, `kc ${id}`);
          tx.push(ins(KC, ID, ['id', 'v'], [String(id), `kc ${id}`]));
        } else if (random() < 0.5) {
          // Move a row to a fresh key.
          const from = pick(ids);
          const to = nextId++;
          const v = `${kc.get(from)} moved`;
          kc.delete(from);
          kc.set(to, v);
          tx.push(upd(KC, ID, ['id', 'v'], [String(to), v], [String(from)]));
        } else {
          // Swap two keys through a temporary one.
          const a = pick(ids);
          const b = pick(ids);
          if (a === b) continue;
          const [va, vb] = [kc.get(a) as string, kc.get(b) as string];
          tx.push(upd(KC, ID, ['id', 'v'], [String(-a), va], [String(a)]));
          tx.push(upd(KC, ID, ['id', 'v'], [String(a), vb], [String(b)]));
          tx.push(upd(KC, ID, ['id', 'v'], [String(b), va], [String(-a)]));
          kc.set(a, vb);
          kc.set(b, va);
        }
      }
    }
    if (tx.length > 0) transactions.push(tx);
  }
  const sorted = <V>(map: Map<number, V>, row: (id: number, value: V) => (string | null)[]): string[][] =>
    [...map.entries()].sort(([a], [b]) => a - b).map(([id, value]) => row(id, value) as string[]);
  return {
    transactions,
    expected: {
      acct: sorted(acct, (id, [bal, note, payload]) => [String(id), bal, note, payload]),
      uq: sorted(uq, (id, [code, v]) => [String(id), code, String(v)]),
      kc: sorted(kc, (id, v) => [String(id), v]),
    },
  };
}

/** The target's rows in the shape of Workload.expected. */
export const ACTUAL_SQL = {
  acct: 'SELECT id::text, bal::text, note, payload FROM acct ORDER BY id',
  uq: 'SELECT id::text, code, v::text FROM uq ORDER BY id',
  kc: 'SELECT id::text, v FROM kc ORDER BY id',
};
