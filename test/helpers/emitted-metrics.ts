import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The golden scrape of the fixture /proc: the whole /metrics output the exporter produces. */
export const goldenMetricsPath = fileURLToPath(new URL('../e2e/golden/metrics.prom', import.meta.url));

/**
 * The golden scrape of the captured netlink dump (test/fixtures/netlink): what only the netlink
 * source can emit (the listen backlog limits) comes from here, as a real emission.
 */
export const goldenNetlinkMetricsPath = fileURLToPath(new URL('../e2e/golden/metrics-netlink.prom', import.meta.url));

/** The golden scrape of the cgroup capture (test/fixtures/netlink/cgroup): the owner series. */
export const goldenOwnerMetricsPath = fileURLToPath(new URL('../e2e/golden/metrics-owners.prom', import.meta.url));

/**
 * The netns collector's per-namespace tables (tcpstate_netns_sockets, ..._close_wait_sockets, ...).
 * The golden fixtures hold no other network namespace, so these names are read from the
 * collector's own declarations; test/e2e/netns and the pod pipeline test check the real emission.
 */
export const netnsTablesSourcePath = fileURLToPath(new URL('../../src/collectors/netns-tables.ts', import.meta.url));

export function netnsTableMetricNames(): Set<string> {
  const source = readFileSync(netnsTablesSourcePath, 'utf8');
  return new Set([...source.matchAll(/new SeriesFamily\(\s*registry,\s*'(tcpstate_netns_[a-z_]+)'/g)].map((match) => match[1]!));
}

/** The golden scrape of the tcp_info capture (test/fixtures/netlink/tcpinfo): the tcpinfo collector's series. */
export const goldenTcpInfoMetricsPath = fileURLToPath(new URL('../e2e/golden/metrics-tcpinfo.prom', import.meta.url));

/** Every sample name in an exposition-format text (families and their _bucket/_sum/_count samples). */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (match) names.add(match[0]);
  }
  return names;
}

/** Names an exporter emits: those of the golden scrapes (procfs, netlink, cgroup owners, tcp_info) and the netns tables. */
export function emittedMetricNames(): Set<string> {
  const names = sampleNames(readFileSync(goldenMetricsPath, 'utf8'));
  for (const name of netnsTableMetricNames()) names.add(name);
  for (const path of [goldenNetlinkMetricsPath, goldenOwnerMetricsPath, goldenTcpInfoMetricsPath]) for (const name of sampleNames(readFileSync(path, 'utf8'))) names.add(name);
  return names;
}
