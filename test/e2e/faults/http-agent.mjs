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
  try {
    const init = { method: 'GET', signal: AbortSignal.timeout(request.timeoutMs ?? 10_000) };
    if (request.form !== undefined) {
      init.method = 'POST';
      init.body = new URLSearchParams(request.form).toString();
      init.headers = { 'content-type': 'application/x-www-form-urlencoded' };
    }
    const response = await fetch(request.url, init);
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    process.stdout.write(`${JSON.stringify({ id: request.id, status: response.status, body })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ id: request.id, error: String(error?.cause?.code ?? error?.message ?? error) })}\n`);
  }
});
lines.on('close', () => process.exit(0));
