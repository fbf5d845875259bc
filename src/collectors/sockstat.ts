import type { Registry } from 'prom-client';
import { ProcParseError } from '../errors.js';
import { pageSize } from '../procfs/page-size.js';
import { parseSockstat } from '../procfs/sockstat.js';
import type { FileCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';

function field(file: string, table: Map<string, Map<string, number>>, protocol: string, key: string): number {
  const value = table.get(protocol)?.get(key);
  if (value === undefined) throw new ProcParseError(file, 0, `${protocol} ${key}`, 'missing');
  return value;
}

/** Kernel-wide TCP socket accounting from /proc/net/sockstat{,6}. */
export const sockstatCollector: FileCollector<Record<string, never>> = {
  name: 'sockstat',
  defaultEnabled: true,
  description: 'TCP sockets in use, orphaned, in TIME_WAIT, allocated, and TCP memory (/proc/net/sockstat)',
  flags: {},
  reads: 'files',
  async collect({ proc }, _options, registry: Registry): Promise<void> {
    const file = proc.path('net', 'sockstat');
    const [text, text6, page] = await Promise.all([proc.readText('net', 'sockstat'), proc.readTextIfExists('net', 'sockstat6'), pageSize(proc)]);
    const sockstat = parseSockstat(file, text);
    const inuse = scrapeGauge(registry, 'tcpstate_sockstat_inuse', 'TCP sockets in use (TCP: inuse from sockstat, TCP6: inuse from sockstat6); excludes TIME_WAIT and request sockets.', ['family']);
    inuse.set({ family: 'ipv4' }, field(file, sockstat, 'TCP', 'inuse'));
    if (text6 !== undefined) {
      const file6 = proc.path('net', 'sockstat6');
      inuse.set({ family: 'ipv6' }, field(file6, parseSockstat(file6, text6), 'TCP6', 'inuse'));
    }
    scrapeGauge(registry, 'tcpstate_sockstat_orphan', 'Orphaned TCP sockets (no longer attached to a file descriptor), host-wide.').set(field(file, sockstat, 'TCP', 'orphan'));
    scrapeGauge(registry, 'tcpstate_sockstat_tw', 'TCP sockets in TIME_WAIT, plus orphaned FIN_WAIT2 sockets, in this network namespace.').set(field(file, sockstat, 'TCP', 'tw'));
    scrapeGauge(registry, 'tcpstate_sockstat_alloc', 'Allocated TCP sockets, host-wide.').set(field(file, sockstat, 'TCP', 'alloc'));
    scrapeGauge(registry, 'tcpstate_sockstat_memory_bytes', 'TCP memory in use, host-wide: sockstat mem pages times the page size.').set(field(file, sockstat, 'TCP', 'mem') * page);
  },
};
