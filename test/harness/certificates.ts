// Test certificates made with the openssl CLI: a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate for the cert-authenticated test role, and an unrelated CA that
// must fail verification. TLS tests need real certificates, never disabled checks.

import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The role whose client certificate (CN) logs it in through a `cert` pg_hba line. */
export const CERT_USER = 'godwit_cert_user';

/** Paths of the generated files; keys are unencrypted PEM. */
export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: verification against it must fail. */
  otherCaCert: string;
}

const DAYS = '3650';

/** Writes a CA, server and client certificates into `dir` (created when missing). */
export async function generateTestCertificates(dir: string): Promise<TestCertificates> {
  await fs.mkdir(dir, { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  await Promise.all([
    makeCa(file('ca.key'), file('ca.crt'), 'godwit test CA'),
    makeCa(file('other-ca.key'), file('other-ca.crt'), 'godwit unrelated CA'),
  ]);
  await Promise.all([
    makeSigned(dir, 'server', 'localhost', [
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'extendedKeyUsage = serverAuth',
    ]),
    makeSigned(dir, 'client', CERT_USER, ['extendedKeyUsage = clientAuth']),
  ]);
  return {
    caCert: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    otherCaCert: file('other-ca.crt'),
  };
}

async function makeCa(keyFile: string, certFile: string, commonName: string): Promise<void> {
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', DAYS, '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints = critical, CA:TRUE',
    '-addext', 'keyUsage = critical, keyCertSign, cRLSign',
  ]);
}

async function makeSigned(dir: string, name: string, commonName: string, extensions: string[]): Promise<void> {
  const file = (suffix: string): string => path.join(dir, `${name}.${suffix}`);
  await fs.writeFile(
    file('ext'),
    ['basicConstraints = CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment', ...extensions].join('\n'),
  );
  await openssl([
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', file('key'), '-out', file('csr'), '-subj', `/CN=${commonName}`,
  ]);
  await openssl([
    'x509', '-req', '-in', file('csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'),
    '-set_serial', `0x${Date.now().toString(16)}${name === 'server' ? '01' : '02'}`,
    '-out', file('crt'), '-days', DAYS, '-extfile', file('ext'),
  ]);
  await fs.chmod(file('key'), 0o600);
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}
