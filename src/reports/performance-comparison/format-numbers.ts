// Numbers of the performance comparison as people read them, the same in the HTML page and on the
// terminal: milliseconds with a precision that suits their size, ratios with two decimals.

/** Milliseconds: three decimals below 10 ms, two below 1 s, none above (`0.042`, `12.35`, `1520`). */
export function formatMs(ms: number): string {
  if (Math.abs(ms) < 10) return ms.toFixed(3);
  if (Math.abs(ms) < 1_000) return ms.toFixed(2);
  return ms.toFixed(0);
}

/** A target/source ratio (`2.41x`), or `n/a` when the source's mean was 0. */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${ratio.toFixed(2)}x`;
}

/** A statement's text cut to `width` characters for a table cell (the reports keep it whole). */
export function shortenStatement(query: string, width: number): string {
  return query.length <= width ? query : `${query.slice(0, width - 3)}...`;
}
