/**
 * Tables a tally brings to a scrape (other namespaces'): dumped after the plan's, offered to every
 * tally, and a failure of one goes to that tally's report instead of failing the collector.
 */
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HOST_TABLE, type SocketTable, type TableCollector } from '../../src/collectors/collector.js';
import { scrapeGauge } from '../../src/collectors/metric-helpers.js';
import { runCollectors } from '../../src/collectors/run-collectors.js';
import type { ScanResult, SocketSink, SocketSource } from '../../src/kernel/socket-record.js';
import { DEFAULT_OWNER_PATHS } from '../../src/owners/flags.js';
import { ProcRoot } from '../../src/procfs/proc-root.js';
import { ProcfsSource } from '../../src/sources/procfs.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';

const failing: SocketSource = { name: 'procfs', scan: () => Promise.reject(new Error('the namespace went away')) };
const real = (): SocketSource => new ProcfsSource(new ProcRoot(fixtureProcfs));

class Counting implements SocketSink {
  sockets = 0;
  add(): void {
    this.sockets++;
  }
}

function collectorWith(extra: SocketTable[], seen: Map<string, number>, failures: Map<string, string>): TableCollector {
  return {
    name: 'extra',
    defaultEnabled: true,
    description: 'test',
    flags: {},
    reads: 'socket-tables',
    async prepareTally() {
      const sinks = new Map<SocketTable, Counting>();
      return {
        extraTables: () => extra,
        sinkFor(table) {
          const sink = new Counting();
          sinks.set(table, sink);
          return sink;
        },
        report(registry: Registry, scans: ReadonlyMap<SocketTable, ScanResult>, failed: ReadonlyMap<SocketTable, string>) {
          for (const [table, sink] of sinks) if (scans.has(table)) seen.set(table.id, sink.sockets);
          for (const [table, why] of failed) failures.set(table.id, why);
          scrapeGauge(registry, 'test_tables', 'tables seen').set(scans.size);
        },
      };
    },
  };
}

describe('tables a tally brings', () => {
  it('are dumped into the tally, and a failed one reaches its report without failing the collector', async () => {
    const seen = new Map<string, number>();
    const failures = new Map<string, string>();
    const extra = [{ id: 'netns:1', source: real() }, { id: 'netns:2', source: failing }];
    const collector = collectorWith(extra, seen, failures);
    const plan = { collectors: [collector], options: new Map([['extra', {}]]), tables: [{ id: HOST_TABLE, source: real() }] };
    const [runResult] = await runCollectors(plan, { proc: new ProcRoot(fixtureProcfs), logger: pino({ level: 'silent' }), ownerPaths: DEFAULT_OWNER_PATHS });
    expect(runResult!.error).toBeUndefined();
    expect(seen.get(HOST_TABLE)).toBeGreaterThan(0);
    expect(seen.get('netns:1')).toBe(seen.get(HOST_TABLE));
    expect(failures).toEqual(new Map([['netns:2', 'the namespace went away']]));
  });

  it("a plan table's failure still fails the collector", async () => {
    const collector = collectorWith([], new Map(), new Map());
    const plan = { collectors: [collector], options: new Map([['extra', {}]]), tables: [{ id: HOST_TABLE, source: failing }] };
    const [runResult] = await runCollectors(plan, { proc: new ProcRoot(fixtureProcfs), logger: pino({ level: 'silent' }), ownerPaths: DEFAULT_OWNER_PATHS });
    expect(runResult!.error).toBe('the namespace went away');
  });
});
