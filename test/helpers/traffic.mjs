// @ts-check
/**
 * Paced TCP traffic inside the network namespace this runs in, for the impairment tests: sink
 * servers, and clients that each write `chunk` bytes every `intervalMs` (a steady offered load,
 * not a CPU-bound flood, so an unshaped loopback path keeps its loopback RTT).
 *
 *   node traffic.mjs '{"seconds":8,"flows":[{"host":"127.0.0.1","port":7001,"connections":2,"chunk":65536,"intervalMs":25}]}'
 *
 * Prints "READY" once every connection is up; exits after `seconds`, or when stdin closes. A
 * line "pause" on stdin stops the writers (the sinks keep reading, so every queue drains) and is
 * answered with "PAUSED".
 */
import net from 'node:net';

/** @type {{ seconds: number, flows: { host?: string, port: number, connections: number, chunk: number, intervalMs: number }[] }} */
const spec = JSON.parse(process.argv[2] ?? '{}');
if (!Array.isArray(spec.flows) || !(spec.seconds > 0 && spec.seconds <= 120)) throw new Error('traffic.mjs: need {"seconds": 1..120, "flows": [...]}');

let paused = false;
const connected = [];
for (const flow of spec.flows) {
  const host = flow.host ?? '127.0.0.1';
  await new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.on('data', () => undefined).on('error', () => undefined));
    server.once('error', reject).listen(flow.port, host, () => resolve(undefined));
  });
  const payload = Buffer.alloc(flow.chunk, 0x5a);
  for (let i = 0; i < flow.connections; i++) {
    connected.push(
      new Promise((resolve, reject) => {
        const client = net.connect({ host, port: flow.port }, () => {
          resolve(undefined);
          // Write only when the previous chunk has left the buffer: a steady, bounded load.
          setInterval(() => !paused && client.writableLength === 0 && client.write(payload), flow.intervalMs);
        });
        client.once('error', reject);
      }),
    );
  }
}
await Promise.all(connected);
process.stdout.write('READY\n');
setTimeout(() => process.exit(0), spec.seconds * 1000);
process.stdin
  .on('data', (chunk) => {
    if (String(chunk).includes('pause') && !paused) {
      paused = true;
      process.stdout.write('PAUSED\n');
    }
  })
  .on('end', () => process.exit(0))
  .resume();
