// Appending one array to another in hot loops without `target.push(...source)`: V8 optimizes a spread
// call for the array shapes it met, and arrays of other element kinds (an empty literal, an array of
// objects) then throw the optimized code away. In a pgbench catch-up the apply planner was
// deoptimized 78 times at such a spread, each time running on in the interpreter until optimized again.

/** Pushes every item of `source` onto `target`, in order; returns `target`. */
export function appendAll<T>(target: T[], source: readonly T[]): T[] {
  for (let i = 0; i < source.length; i++) target.push(source[i] as T);
  return target;
}
