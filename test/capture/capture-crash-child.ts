// Crash-test child for capture-crash.test.ts (run with vite-node): opens the queue writer and a
// replication stream from the slot's confirmed position, and captures until SIGKILLed, or until
// SIGUSR2, which aborts gracefully. Group commit limits come from the seed, so kills land at varied
// points. After every queue commit it prints `durable <last vsn> <end LSN>`; with ackDelayMs it then
// sleeps before the acknowledgement, so the parent can kill it between the two.
// Settings: the GODWIT_CAPTURE_CHILD environment variable, JSON (never the command line: a password).
import { writeSync } from 'node:fs';
import { runCapture } from '../../src/capture/index.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { ReplicationConnection, ReplicationError, type ReplicationStream } from '../../src/engines/postgres/replication/index.js';
import { openStore } from '../../src/state/store.js';
import { seededRandom } from './seeded-random.js';

interface ChildConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  db: string;
  slot: string;
  publication: string;
  storeFile: string;
  queueDir: string;
  ackDelayMs: number;
  seed: number;
}

const config = JSON.parse(process.env.GODWIT_CAPTURE_CHILD ?? '') as ChildConfig;
const line = (text: string): void => {
  writeSync(1, `${text}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const random = seededRandom(config.seed);

const store = openStore(config.storeFile);
const writer = openQueueWriter({ store, queueDir: config.queueDir, stream: 'source-to-target' });
line(`ready ${writer.durablePoint.lastVsn} ${writer.durablePoint.endLsn ?? '-'}`);

const settings = {
  role: 'source' as const,
  host: config.host,
  port: config.port,
  user: config.user,
  password: config.password,
  database: config.db,
  schemas: ['public'],
  sslMode: 'disable' as const,
  sslRootCert: undefined,
  sslCert: undefined,
  sslKey: undefined,
};

// The walsender of the killed run may hold the slot for a moment.
let connection: ReplicationConnection;
let stream: ReplicationStream;
let confirmed: bigint | undefined;
for (let attempt = 0; ; attempt += 1) {
  connection = await ReplicationConnection.open(settings, { applicationName: 'godwit capture crash child', retry: { attempts: 3 } });
  try {
    confirmed = (await connection.readSlot(config.slot))?.confirmedFlushLsn;
    stream = await connection.startReplication({ slotName: config.slot, startLsn: 0n, publicationNames: [config.publication], protocolVersion: 1 });
    break;
  } catch (error) {
    await connection.close();
    if (!(error instanceof ReplicationError && error.reason === 'slot-in-use') || attempt > 200) throw error;
    await sleep(50);
  }
}
const controller = new AbortController();
// SIGUSR2, not SIGTERM: vite-node's dev server ends the process on SIGTERM before the capture could stop.
process.on('SIGUSR2', () => controller.abort());
line('streaming');

let skipped = 0;
const result = await runCapture({
  stream,
  queue: writer,
  signal: controller.signal,
  slotConfirmedLsn: confirmed,
  groupCommit: { maxEvents: 1 + Math.floor(random() * 200), maxDelayMs: Math.floor(random() * 40) },
  onProgress: (metrics) => {
    if (metrics.skippedTransactions !== skipped) {
      skipped = metrics.skippedTransactions;
      line(`skipped ${skipped}`);
    }
  },
  afterQueueCommit: async (point) => {
    line(`durable ${point.lastVsn} ${point.endLsn ?? '-'}`);
    if (config.ackDelayMs > 0) await sleep(config.ackDelayMs);
  },
});
line(`stopped ${result.durable.lastVsn} skipped ${result.metrics.skippedTransactions}`);
await writer.close();
await connection.close();
store.close();
process.exit(0);
