// How full a file system is, the way `df` shows it: used / (used + available to unprivileged users).

import { statfs } from 'node:fs/promises';

/** The used percentage (0..100, fractional) of the file system holding `path`. */
export async function fsUtilizationPercent(path: string): Promise<number> {
  const stats = await statfs(path);
  const used = stats.blocks - stats.bfree;
  const usable = used + stats.bavail;
  return usable <= 0 ? 0 : (used / usable) * 100;
}

/** Whether segments should be freed now: always without a threshold, else only above it. */
export async function overThreshold(path: string, thresholdPercent: number | undefined): Promise<boolean> {
  if (thresholdPercent === undefined) return true;
  return (await fsUtilizationPercent(path)) > thresholdPercent;
}
