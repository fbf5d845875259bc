#!/usr/bin/env node
/**
 * Runs a batch of HTTP requests and prints the results as one JSON array on stdout.
 *
 * The pipeline test starts it with `ip netns exec <ns> node http-batch.mjs <requests.json>`: the
 * test process lives in the host network namespace and cannot reach Prometheus, Alertmanager and
 * the exporter on the namespace's loopback, so every API call goes through here. One process per
 * batch keeps the cost of a namespace round trip to one node start-up.
 *
 * requests.json: [{ "url": "...", "method"?: "GET"|"POST", "form"?: { key: value }, "timeoutMs"?: n }]
 * output:        [{ "url", "status", "body" }] (body parsed as JSON when it is JSON) or [{ "url", "error" }]
 */
import { readFileSync } from 'node:fs';
import { httpRequest } from '../../helpers/http-request.mjs';

const requests = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = [];
for (const request of requests) results.push({ url: request.url, ...(await httpRequest(request)) });
process.stdout.write(JSON.stringify(results));
