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

    // Once that collection is done, the next scrape makes a new one.
    await exporter.scrape('openmetrics');
    expect(exporter.collections).toBe(2);
    expect(dumps).toBe(2);
  });
});
