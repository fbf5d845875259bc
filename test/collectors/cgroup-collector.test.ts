import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupCollector } from '../../src/collectors/cgroup.js';
import { Exporter } from '../../src/exporter.js';
import type { SocketRecord, SocketSource } from '../../src/kernel/socket-record.js';
import { ReplayedCgroups } from '../helpers/captured-cgroups.js';
import { parseExposition, select, valueOf } from '../helpers/exposition.js';
import { scrapeSetup } from '../helpers/scrape-setup.js';

/** A pino logger that keeps its lines. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** The replayed capture with every cgroup id wiped: what a kernel without CONFIG_SOCK_CGROUP_DATA sends. */
function withoutIds(source: SocketSource): SocketSource {
  return {
    name: source.name,
    scan: (sink) =>
      source.scan({
        add(record: SocketRecord) {
          record.cgroupId = 0;
          sink.add(record);
        },
      }),
  };
}

describe('the cgroup collector on the replayed capture', () => {
  // One replay per case: the collector keeps its cgroup tree per procfs root, so each case gets its own.
  const replays: ReplayedCgroups[] = [];
  afterAll(() => replays.forEach((replay) => replay.destroy()));

  async function scrape(source: (replay: ReplayedCgroups) => SocketSource, extra: Record<string, string> = {}) {
    const replay = new ReplayedCgroups();
    replays.push(replay);
    const { plan, context } = scrapeSetup({ 'path.procfs': replay.procfs, 'path.rootfs': replay.runtimeRoot, ...extra }, { collectors: [cgroupCollector], source: () => source(replay) });
    const { logger, lines } = recordingLogger();
    const exporter = new Exporter(plan, { ...context, logger }, { processMetrics: false });
    const first = parseExposition((await exporter.scrape()).body);
    const second = parseExposition((await exporter.scrape()).body);
    return { first, second, lines };
  }

  it('names every owner, and a second scrape from the caches gives the same series', async () => {
    const { first, second, lines } = await scrape((replay) => replay.source());
    expect(select(first, 'tcpstate_owner_sockets').length).toBe(4 * 11);
    expect(second).toEqual(first.map((s) => (s.name === 'tcpstate_scrape_collector_duration_seconds' ? second.find((t) => t.name === s.name)! : s)));
    expect(lines).toEqual([]);
  });

  it('leaves its series out, with one log line over two scrapes, when the kernel sends no ids', async () => {
    const { first, second, lines } = await scrape((replay) => withoutIds(replay.source()));
    for (const samples of [first, second]) {
      expect(select(samples, 'tcpstate_owner_sockets')).toEqual([]);
      expect(valueOf(samples, 'tcpstate_scrape_collector_success', { collector: 'cgroup' })).toBe(1);
    }
    expect(lines.map((line) => line.msg)).toEqual([expect.stringContaining('reports no INET_DIAG_CGROUP_ID')]);
  });

  it('--collector.cgroup.top=1 keeps the busiest owner and folds the others into unit="other"', async () => {
    const { first } = await scrape((replay) => replay.source(), { 'collector.cgroup.top': '1' });
    const units = new Set(select(first, 'tcpstate_owner_sockets').map((s) => `${s.labels.unit}${s.labels.container}`));
    expect([...units].sort()).toEqual(['other', 'unknown', 'web.service']);
  });
});
