/**
 * The procfs source has no tcp_info: the tcpinfo collector reports success 0 in every scrape and
 * says why in ONE log line, not one per scrape. The real CLI, scraped over HTTP three times.
 */
import { describe, expect, it } from 'vitest';
import { parseExposition, select, valueOf } from '../../helpers/exposition.js';
import { startExporter } from '../../helpers/exporter-process.js';

describe('tcpinfo collector on the procfs source', () => {
  it('fails every scrape with success 0 and logs the reason once', { timeout: 30_000 }, async () => {
    const exporter = await startExporter(['--collector.tcpinfo', '--collector.sockets.source=procfs', '--log.format=json']);
    try {
      for (let i = 0; i < 3; i++) {
        const samples = parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
        expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'tcpinfo' }), `scrape ${i + 1}`).toBe(0);
        // The rest of the scrape is unharmed, and tcpinfo emits nothing of its own.
        expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'sockets' })).toBe(1);
        expect(samples.filter((s) => s.name.startsWith('tcpstate_tcpinfo_'))).toEqual([]);
        expect(select(samples, 'tcpstate_build_info')[0]!.labels.source).toBe('procfs');
      }
    } finally {
      await exporter.stop();
    }
    const lines = exporter
      .logs()
      .split('\n')
      .filter((line) => line.includes('"collector":"tcpinfo"'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; err: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'collector unavailable' });
    expect(lines[0]!.err).toBe('tcp_info needs the netlink socket source; the procfs source has none (/proc/net/tcp does not show it)');
  });
});
