// A TCP proxy between godwit and a server, for fault tests: it forwards every connection and can cut
// them all at once (as a network failure or a firewall would), refuse new ones for a while, or answer
// them as a PostgreSQL server in crash recovery does (FATAL 57P03 after the startup packet) for as long
// as a test needs: a real server's recovery is seldom long enough to outlast a client's retries.
import net from 'node:net';

/** A running proxy on 127.0.0.1:port. */
export interface TcpProxy {
  readonly port: number;
  /** Connections forwarded so far. */
  readonly accepted: number;
  /** Destroys every open connection on both sides (the peers see a reset). */
  cutAll(): number;
  /** While refusing, new connections are closed at once. */
  refuse(on: boolean): void;
  /** While starting up, new connections get PostgreSQL's FATAL 57P03 "not yet accepting connections". */
  startingUp(on: boolean): void;
  close(): Promise<void>;
}

/** Starts a proxy to `host:port` on a free local port. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let refusing = false;
  let recovering = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    if (recovering) {
      client.on('error', () => undefined);
      client.once('data', () => client.end(recoveryError()));
      return;
    }
    accepted++;
    const upstream = net.connect(port, host);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    cutAll(): number {
      const n = open.size / 2;
      for (const socket of open) socket.resetAndDestroy();
      open.clear();
      return n;
    },
    refuse(on: boolean): void {
      refusing = on;
    },
    startingUp(on: boolean): void {
      recovering = on;
    },
    async close(): Promise<void> {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The ErrorResponse a PostgreSQL server in crash recovery sends after a client's startup packet. */
function recoveryError(): Buffer {
  const fields = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', '57P03'],
    ['M', 'the database system is not yet accepting connections'],
    ['D', 'Consistent recovery state has not been yet reached.'],
  ];
  const body = Buffer.concat([...fields.map(([code, text]) => Buffer.from(`${code}${text}\0`)), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
