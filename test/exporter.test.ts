import { describe, expect, it } from 'vitest';
import type { ScanResult, SocketSink } from '../src/kernel/socket-record.js';
import { Exporter } from '../src/exporter.js';
import { ProcfsSource } from '../src/sources/procfs.js';
import { parseExposition, valueOf } from './helpers/exposition.js';
import { scrapeSetup } from './helpers/scrape-setup.js';

describe('Exporter: collect once, render per format', () => {
  it('concurrent text and OpenMetrics scrapes share one collection and one dump', async () => {
    let dumps = 0;
    const { plan, context } = scrapeSetup({}, { toggles: { process: true }, source: (proc) => {
      const procfs = new ProcfsSource(proc);
      return { name: 'procfs', scan: (sink: SocketSink): Promise<ScanResult> => (dumps++, procfs.scan(sink)) };
    } });
    const exporter = new Exporter(plan, context);
    const [text, openMetrics, again] = await Promise.all([exporter.scrape('prometheus'), exporter.scrape('openmetrics'), exporter.scrape('prometheus')]);
    expect(exporter.collections).toBe(1);
    expect(dumps).toBe(1);
    expect(text.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(openMetrics.contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(openMetrics.body.trimEnd().endsWith('# EOF')).toBe(true);
    expect(again.body).toBe(text.body);
    // The same collection in both formats: equal figures.
    const fromText = valueOf(parseExposition(text.body), 'tcpstate_sockets', { family: 'ipv4', state: 'close_wait' });
    expect(fromText).toBe(4);
    expect(openMetrics.body).toContain('tcpstate_sockets{family="ipv4",state="close_wait"} 4');

    // Rendering OpenMetrics did not rename the counters under the text scrape (prom-client drops
    // `_total` from a counter's name in place when it renders OpenMetrics).
    expect(text.body).toMatch(/^tcpstate_listen_overflows_total \d/m);
    expect(text.body).toMatch(/^# TYPE tcpstate_listen_overflows_total counter$/m);
    expect(openMetrics.body).toMatch(/^# TYPE tcpstate_listen_overflows counter$/m);
    expect(openMetrics.body).toMatch(/^tcpstate_listen_overflows_total \d/m);
    const textAfter = await exporter.scrape('prometheus');
    expect(textAfter.body).toMatch(/^process_cpu_seconds_total /m);

    // Once that collection is done, the next scrape makes a new one.
    await exporter.scrape('openmetrics');
    expect(exporter.collections).toBe(3);
    expect(dumps).toBe(3);
  });
});

describe('the exporter\'s own process metrics', () => {
  it('never show an empty event-loop histogram as NaN or 2^63 ns, not even at the first scrape', async () => {
    const { plan, context } = scrapeSetup({}, { toggles: { sockets: false, sockstat: false, netstat: false, sysctl: false } });
    const exporter = new Exporter(plan, context);
    // Two scrapes back to back: the second finds the histogram reset by the first.
    for (const scrape of [await exporter.scrape(), await exporter.scrape()]) {
      expect(scrape.body).not.toMatch(/ NaN$/m);
      expect(scrape.body).not.toMatch(/^nodejs_eventloop_lag_min_seconds 9223372036/m);
      expect(scrape.body).toMatch(/^process_cpu_seconds_total /m);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await exporter.scrape()).body).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
  });

  it('can be left out (--web.disable-exporter-metrics)', async () => {
    const { plan, context } = scrapeSetup();
    const body = (await new Exporter(plan, context, { processMetrics: false }).scrape()).body;
    expect(body).not.toMatch(/^(process|nodejs)_/m);
    expect(body).toMatch(/^tcpstate_sockets\{/m);
  });
});
