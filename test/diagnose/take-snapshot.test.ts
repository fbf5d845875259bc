import { describe, expect, it } from 'vitest';
import { COLLECTORS } from '../../src/collectors/index.js';
import { commandLineFlags, parseConfig } from '../../src/config/config.js';
import { withDiagnoseDefaults, withoutNetlinkOnly } from '../../src/diagnose/collector-defaults.js';
import { CapturedNetlinkSource } from '../helpers/captured-netlink.js';
import { takeSnapshot } from '../../src/diagnose/take-snapshot.js';
import { Exporter } from '../../src/exporter.js';
import { parseExposition } from '../helpers/exposition.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';
import { scrapeSetup, type ScrapeSetup } from '../helpers/scrape-setup.js';

function fixtureScrape(procfsPath = fixtureProcfs): ScrapeSetup {
  return scrapeSetup({ 'path.procfs': procfsPath }, { toggles: { process: true } });
}

/** Series that time the collection itself: two collections never agree on them. */
const TIMINGS = new Set(['tcpstate_netns_discovery_seconds', 'tcpstate_netns_table_dump_seconds', 'tcpstate_netns_counters_read_seconds']);

describe('takeSnapshot runs the exporter\'s collectors in-process', () => {
  it('holds exactly the tcpstate_ series a scrape of the same /proc serves, with the same values', async () => {
    const { plan, context } = fixtureScrape();
    const snapshot = await takeSnapshot(plan, context, () => 42_000);
    const scraped = parseExposition((await new Exporter(plan, context, { processMetrics: false }).scrape()).body).filter(
      // Bookkeeping the exporter adds around the collectors; the snapshot keeps it as outcomes.
      (sample) => sample.name.startsWith('tcpstate_') && !sample.name.startsWith('tcpstate_scrape_') && sample.name !== 'tcpstate_build_info' && !TIMINGS.has(sample.name),
    );
    const fromSnapshot = [...snapshot.metrics, ...snapshot.namespaced].filter(([name]) => !TIMINGS.has(name)).flatMap(([name, samples]) => samples.map((sample) => ({ name, labels: { ...sample.labels }, value: sample.value })));
    const key = (s: { name: string; labels: Record<string, string> }) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    const sorted = <T extends { name: string; labels: Record<string, string> }>(list: T[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(scraped.length).toBeGreaterThan(200);
    expect(sorted(fromSnapshot)).toEqual(sorted(scraped));
    expect(snapshot.takenAtMs).toBe(42_000);
    expect(snapshot.source).toBe('procfs');
    expect(snapshot.collectors.map((c) => [c.name, c.ok])).toEqual(COLLECTORS.filter((c) => c.defaultEnabled || c.name === 'process').map((c) => [c.name, true]));
  });

  it('a collector that fails is recorded with its one-line error; the others still report', async () => {
    const { plan, context } = fixtureScrape('/nonexistent-proc');
    const snapshot = await takeSnapshot(plan, context);
    const sockstat = snapshot.collectors.find((c) => c.name === 'sockstat');
    expect(sockstat).toMatchObject({ ok: false });
    expect(sockstat?.error).toMatch(/^cannot read \/nonexistent-proc\/net\/sockstat: no such file or directory$/);
    // Not one sysctl there: a wrong --path.procfs, which the sysctl collector says rather than
    // serving nothing as a success.
    expect(snapshot.collectors.find((c) => c.name === 'sysctl')).toMatchObject({ ok: false, error: expect.stringMatching(/none of the TCP sysctls exists under \/nonexistent-proc\/sys\/net/) });
    expect(snapshot.metrics.has('tcpstate_sockstat_orphan')).toBe(false);
  });
});

describe('diagnose\'s collector defaults', () => {
  it('turn the process and tcpinfo collectors on, leave the others (netns included: the pod checks) as they are, and lose to the flags', () => {
    const defaults = withDiagnoseDefaults(COLLECTORS);
    expect(defaults.map((c) => [c.name, c.defaultEnabled])).toEqual(COLLECTORS.map((c) => [c.name, c.name === 'process' || c.name === 'tcpinfo' ? true : c.defaultEnabled]));
    expect(parseConfig(commandLineFlags(), defaults).enabledCollectors).toContain('netns');
    expect(parseConfig(commandLineFlags({}, { netns: false }), defaults).enabledCollectors).not.toContain('netns');
    expect(COLLECTORS.find((c) => c.name === 'process')?.defaultEnabled).toBe(false);
    expect(parseConfig(commandLineFlags(), defaults).enabledCollectors).toContain('process');
    expect(parseConfig(commandLineFlags({}, { process: false }), defaults).enabledCollectors).not.toContain('process');
  });

  it('tcpinfo only where the socket source is netlink, unless asked for by name', () => {
    const diagnosePlan = (source: 'netlink' | 'procfs', toggles: Record<string, boolean> = {}) => {
      const config = parseConfig(commandLineFlags({ 'path.procfs': fixtureProcfs }, toggles), withDiagnoseDefaults(COLLECTORS));
      const { plan } = scrapeSetup({}, { collectors: COLLECTORS.filter((c) => config.enabledCollectors.includes(c.name)), ...(source === 'netlink' ? { source: () => new CapturedNetlinkSource() } : {}) });
      return withoutNetlinkOnly(plan, (name) => toggles[name] === true).collectors.map((c) => c.name);
    };
    expect(diagnosePlan('netlink')).toContain('tcpinfo');
    expect(diagnosePlan('procfs')).not.toContain('tcpinfo');
    expect(diagnosePlan('procfs')).toContain('process');
    expect(diagnosePlan('procfs', { tcpinfo: true })).toContain('tcpinfo');
  });
});
