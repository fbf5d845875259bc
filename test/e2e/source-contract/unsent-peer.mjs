// @ts-check
/**
 * Child process of contract.test.ts, inside its namespace: a TCP peer that never reads.
 *   node unsent-peer.mjs <host> <port>
 * Listens on host:port with reading paused, connects to itself and writes until the kernel
 * stops taking data: the server's receive queue is full and the client's send queue holds the
 * rest. Prints READY once nothing has moved for a while, then holds until stdin closes.
 */
import { createConnection, createServer } from 'node:net';

const [host = '127.0.0.1', portText = '7000'] = process.argv.slice(2);
const port = Number(portText);
const server = createServer({ pauseOnConnect: true }, () => undefined);
server.listen(port, host, () => {
  const client = createConnection({ host, port }, () => {
    // Far more than loopback's receive window plus send buffer: the rest stays in userland.
    client.write(Buffer.alloc(32 * 1024 * 1024, 120));
    let last = -1;
    let still = 0;
    const timer = setInterval(() => {
      const pending = client.writableLength;
      still = pending === last ? still + 1 : 0;
      last = pending;
      if (still >= 5) {
        clearInterval(timer);
        process.stdout.write(`READY ${pending}\n`);
      }
    }, 50);
    setTimeout(() => {
      process.stdout.write('ERROR the send queue never settled\n');
      process.exit(1);
    }, 20_000).unref();
  });
  client.on('error', (error) => {
    process.stdout.write(`ERROR ${error.message}\n`);
    process.exit(1);
  });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
