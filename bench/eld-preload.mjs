// @ts-check
/**
 * Preloaded into the exporter by the benchmark (`node --import ./bench/eld-preload.mjs dist/main.js ...`),
 * so the product needs no hook: it watches the event loop with perf_hooks.monitorEventLoopDelay
 * and answers the bench over the IPC channel the bench opened when it spawned the exporter.
 *   {cmd: 'eld-reset'}  -> clears the histogram, replies {eld: 'reset'}
 *   {cmd: 'eld-read'}   -> replies {eld: {maxMs, p99Ms, meanMs, count}}
 *   {cmd: 'mem'}        -> replies {mem: process.memoryUsage() in MB}
 * Without an IPC channel (run by hand) it does nothing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: 2 });
  histogram.enable();
  const send = /** @type {(message: unknown) => void} */ (process.send.bind(process));
  process.on('message', (/** @type {{cmd?: string}} */ message) => {
    if (message?.cmd === 'eld-reset') {
      histogram.reset();
      send({ eld: 'reset' });
    } else if (message?.cmd === 'eld-read') {
      const ms = (/** @type {number} */ ns) => Math.round(ns / 1e4) / 100;
      send({ eld: { maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), meanMs: ms(histogram.mean), count: histogram.count } });
    } else if (message?.cmd === 'mem') {
      const usage = /** @type {Record<string, number>} */ (/** @type {unknown} */ (process.memoryUsage()));
      send({ mem: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, Math.round(v / 1024 / 10.24) / 100])) });
    }
  });
  // The channel must not keep the exporter alive, nor change how it shuts down.
  process.channel?.unref();
}
