// libpq's sslmode semantics on top of node-postgres: which TLS options to try, in which order, and
// when to fall back. Certificate files are read here so a missing one names its flag.
//
//   disable      plain only
//   allow        plain; TLS when the server refuses the plain login
//   prefer       TLS; plain when the server has no TLS (or refuses the TLS login)
//   require      TLS; the chain is verified only when a root certificate is available (as libpq does)
//   verify-ca    TLS, chain verified against the root certificate; host name not checked
//   verify-full  TLS, chain and host name verified
//
// As in libpq, ~/.postgresql/root.crt, postgresql.crt and postgresql.key are used when present and
// no file is given, and a root certificate of `system` means the system's trusted CAs.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { DatabaseSettings, SslMode } from '../../core/database-settings.js';
import { ConnectionError } from '../../core/errors.js';
import { flagName, isLoginRejection, isTlsNotSupported } from './connection-errors.js';

/** One way to open the connection: `false` for plain text, else the TLS options for node-postgres. */
export type TlsChoice = false | ConnectionOptions;

/** The TLS choices to try in order for the settings' sslmode (files read and checked first). */
export async function tlsChoices(settings: DatabaseSettings): Promise<TlsChoice[]> {
  const mode = settings.sslMode;
  if (mode === 'disable') return [false];
  const tls = await tlsOptions(settings);
  switch (mode) {
    case 'allow':
      return [false, tls];
    case 'prefer':
      return [tls, false];
    default:
      return [tls];
  }
}

/** Whether a failed first choice should give way to the next one, as libpq's allow/prefer do. */
export function shouldFallBack(mode: SslMode, failed: TlsChoice, error: unknown): boolean {
  if (mode === 'allow') return failed === false && isLoginRejection(error);
  if (mode === 'prefer') return failed !== false && (isTlsNotSupported(error) || isLoginRejection(error));
  return false;
}

async function tlsOptions(settings: DatabaseSettings): Promise<ConnectionOptions> {
  const mode = settings.sslMode;
  const verifying = mode === 'verify-ca' || mode === 'verify-full';
  const rootCertPath = settings.sslRootCert ?? (await libpqDefault('root.crt'));
  const systemCa = rootCertPath === 'system';
  if (verifying && rootCertPath === undefined) {
    throw new ConnectionError(
      settings.role,
      'tls',
      `${flagName(settings.role, 'ssl-mode')} ${mode} needs the CA certificate to verify the server with, and none was given.`,
      { hint: `Give the CA certificate file with ${flagName(settings.role, 'ssl-root-cert')}.` },
    );
  }
  const options: ConnectionOptions = {
    // libpq verifies the chain whenever it has a root certificate, even in allow/prefer/require.
    rejectUnauthorized: rootCertPath !== undefined,
  };
  if (rootCertPath !== undefined && !systemCa) {
    options.ca = await readPem(settings, 'ssl-root-cert', 'root certificate', rootCertPath);
  }
  if (mode !== 'verify-full') options.checkServerIdentity = () => undefined;

  const certPath = settings.sslCert ?? (await libpqDefault('postgresql.crt'));
  if (certPath !== undefined) {
    const keyPath = settings.sslKey ?? (await libpqDefault('postgresql.key'));
    if (keyPath === undefined) {
      throw new ConnectionError(
        settings.role,
        'tls',
        `The client certificate ${certPath} (${flagName(settings.role, 'ssl-cert')}) has no key.`,
        { hint: `Give its private key file with ${flagName(settings.role, 'ssl-key')}.` },
      );
    }
    options.cert = await readPem(settings, 'ssl-cert', 'client certificate', certPath);
    options.key = await readPem(settings, 'ssl-key', 'client key', keyPath);
  }
  return options;
}

async function readPem(settings: DatabaseSettings, setting: string, what: string, file: string): Promise<string> {
  const flag = flagName(settings.role, setting);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ConnectionError(
      settings.role,
      'tls',
      `Could not read the ${what} file ${file} given with ${flag}: ${fileProblem(error)}.`,
      { hint: `Check the path given with ${flag}, and that godwit may read the file.`, cause: error },
    );
  }
  if (!text.includes('-----BEGIN ')) {
    throw new ConnectionError(settings.role, 'tls', `The ${what} file ${file} given with ${flag} is not in PEM format.`, {
      hint: `Give a PEM file (text starting with "-----BEGIN") with ${flag}.`,
    });
  }
  return text;
}

function fileProblem(error: unknown): string {
  switch ((error as { code?: string }).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

async function libpqDefault(name: string): Promise<string | undefined> {
  const file = path.join(os.homedir(), '.postgresql', name);
  try {
    await fs.access(file);
    return file;
  } catch {
    return undefined;
  }
}
