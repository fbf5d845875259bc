#!/usr/bin/env node
/**
 * The Alertmanager webhook receiver of the pipeline test: listens on 127.0.0.1:<port> (inside
 * the test's network namespace) and prints every request it gets as one JSON line on stdout,
 * {"path": ..., "body": <the parsed webhook payload>}. Prints "LISTENING <port>" once ready.
 * Exits when its stdin closes, so it never outlives the test that started it.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer((request, response) => {
  let text = '';
  request.setEncoding('utf8');
  request.on('data', (chunk) => (text += chunk));
  request.on('end', () => {
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    process.stdout.write(`${JSON.stringify({ path: request.url, body })}\n`);
    response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`LISTENING ${port}\n`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
