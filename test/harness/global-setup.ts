// vitest global setup: one PostgreSQL 15 (source, with TLS) and one PostgreSQL 17 (target) per
// run, shared by every test file, stopped and removed at the end whatever happened.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { stopDataDirServerSync } from '../../src/embedded/server-process.js';
import { CERT_USER, generateTestCertificates } from './certificates.js';
import type { HarnessServer, HarnessTlsRoles } from './provided.js';

const SSL_ONLY_USER = 'godwit_ssl_only';

// Set GODWIT_KEEP_TEST_DIR=1 to keep data directories and server logs after the run.
const keepDir = process.env.GODWIT_KEEP_TEST_DIR === '1';

/** Starts both servers in parallel and provides their connection data; returns the teardown. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const baseDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'godwit-test-'));
  // mkdtemp makes 0700 root-owned dirs; the servers run as the `postgres` OS user.
  await fs.promises.chmod(baseDir, 0o755);
  // Every temporary directory the tests (and the commands and servers they start) make goes under the
  // run's own directory, removed with it: runs no longer leave export dirs and data dirs behind in /tmp.
  const tmpDir = path.join(baseDir, 'tmp');
  await fs.promises.mkdir(tmpDir);
  await fs.promises.chmod(tmpDir, 0o1777);
  process.env.TMPDIR = tmpDir;
  const running: EmbeddedServer[] = [];

  let done = false;
  const stopListening = (): void => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
  };
  const teardown = async (): Promise<void> => {
    if (done) return;
    done = true;
    stopListening();
    await Promise.allSettled(running.map((server) => server.stop()));
    if (!keepDir) await fs.promises.rm(baseDir, { recursive: true, force: true });
  };
  // vitest answers SIGINT/SIGTERM with process.exit() and its 'exit' listener exits again at once,
  // so async cleanup never finishes there: our listeners go first and clean up synchronously.
  const cleanUpNow = (): void => {
    if (done) return;
    done = true;
    stopListening();
    // A signal handler must not throw: the process would end with a confusing error instead.
    try {
      for (const server of running) server.stopSync();
      stopServersStillStarting(baseDir);
      if (!keepDir) fs.rmSync(baseDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // what is left is in the system's temporary directory
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanUpNow();
    // Without another listener the signal would have ended the process: let it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const onExit = (): void => cleanUpNow();
  process.prependOnceListener('SIGINT', onSignal);
  process.prependOnceListener('SIGTERM', onSignal);
  process.prependOnceListener('exit', onExit);

  try {
    const certificates = await generateTestCertificates(path.join(baseDir, 'certs'));
    const started = await Promise.allSettled([
      startEmbeddedServer({
        major: 15,
        baseDir: path.join(baseDir, 'source-pg15'),
        fsync: false,
        tls: { certFile: certificates.serverCert, keyFile: certificates.serverKey, caFile: certificates.caCert },
        hbaLines: sourceHbaLines(),
        settings: { max_connections: 200 },
      }),
      startEmbeddedServer({
        major: 17,
        baseDir: path.join(baseDir, 'target-pg17'),
        fsync: false,
        settings: { max_connections: 200 },
      }),
    ]);
    for (const result of started) if (result.status === 'fulfilled') running.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [source, target] = running as [EmbeddedServer, EmbeddedServer];
    const tlsRoles = await createTlsRoles(source);
    project.provide('servers', {
      source: describeServer(source, 'source', true),
      target: describeServer(target, 'target', false),
      certificates,
      tlsRoles,
    });
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

// A server still starting when a signal comes has no handle yet; its postmaster.pid names it.
function stopServersStillStarting(baseDir: string): void {
  for (const entry of fs.readdirSync(baseDir)) stopDataDirServerSync(path.join(baseDir, entry, 'data'));
}

// First match wins: the cert user only by certificate, the TLS-only user never in plain text.
function sourceHbaLines(): string[] {
  return [
    'local all all scram-sha-256',
    'local replication all scram-sha-256',
    `hostssl all ${CERT_USER} 127.0.0.1/32 cert`,
    `hostssl replication ${CERT_USER} 127.0.0.1/32 cert`,
    `hostssl all ${SSL_ONLY_USER} 127.0.0.1/32 scram-sha-256`,
    `hostnossl all ${SSL_ONLY_USER} 127.0.0.1/32 reject`,
    'host all all 127.0.0.1/32 scram-sha-256',
    'host replication all 127.0.0.1/32 scram-sha-256',
  ];
}

async function createTlsRoles(server: EmbeddedServer): Promise<HarnessTlsRoles> {
  const sslOnlyPassword = randomBytes(12).toString('hex');
  const client = new pg.Client(server.connectionConfig());
  await client.connect();
  try {
    await client.query(`CREATE ROLE ${CERT_USER} LOGIN`);
    await client.query(`CREATE ROLE ${SSL_ONLY_USER} LOGIN PASSWORD '${sslOnlyPassword}'`);
  } finally {
    await client.end();
  }
  return { certUser: CERT_USER, sslOnlyUser: SSL_ONLY_USER, sslOnlyPassword };
}

function describeServer(server: EmbeddedServer, role: HarnessServer['role'], tls: boolean): HarnessServer {
  return {
    role,
    major: server.major,
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    socketDir: server.socketDir,
    logFile: server.logFile,
    tls,
  };
}
