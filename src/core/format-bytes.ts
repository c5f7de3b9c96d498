// Sizes in reports, in binary units as PostgreSQL's pg_size_pretty counts them (but named KiB, MiB,
// GiB, so nobody reads 1,000s): 8.00 KiB, 472.0 KiB, 1.11 MiB, 2.00 TiB.

/** A byte count as a person reads it: three significant digits and a binary unit. */
export function formatBinaryBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
