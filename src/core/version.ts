// The version of godwit, read once from package.json (recorded in the store and shown by `version`).
import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The running godwit's version. */
export const GODWIT_VERSION: string = packageJson.version;
