// Finds a TCP port nobody listens on, so embedded servers (tests, `godwit demo`) never clash with
// a PostgreSQL already running on the machine or with each other.

import net from 'node:net';

/** Asks the kernel for a free port on `host` by listening on port 0, then releases it. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free TCP port'));
      });
    });
  });
}
