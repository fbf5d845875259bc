#!/usr/bin/env node
/**
 * A long-lived HTTP client inside a test's network namespace, so that polling Prometheus costs
 * one request, not one node start-up (test/e2e/pipeline/http-batch.mjs starts a process per batch).
 *
 * Reads one JSON request per line on stdin: {"id": n, "url": "...", "form"?: {key: value},
 * "timeoutMs"?: n}; writes one JSON line per request on stdout: {"id", "status", "body"} (body
 * parsed when it is JSON) or {"id", "error"}. Prints "READY" first. Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { httpRequest } from '../../helpers/http-request.mjs';

const lines = createInterface({ input: process.stdin });
process.stdout.write('READY\n');
lines.on('line', async (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    process.stdout.write(`${JSON.stringify({ id: null, error: `not JSON: ${line.slice(0, 80)}` })}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ id: request.id, ...(await httpRequest({ ...request, method: 'GET' })) })}\n`);
});
lines.on('close', () => process.exit(0));
