import type { Registry } from 'prom-client';
import { oneLine } from '../errors.js';
import { pageSize } from '../procfs/page-size.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import { parseSysctl } from '../procfs/sysctl.js';
import { stringListFlag } from '../config/flag.js';
import type { FileCollector } from './collector.js';
import { scrapeGauge } from './metric-helpers.js';

/** The TCP tunables an SRE checks first when connections misbehave. */
export const DEFAULT_SYSCTLS: readonly string[] = [
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_synack_retries',
  'net.ipv4.tcp_syn_retries',
  'net.ipv4.tcp_max_tw_buckets',
  'net.ipv4.tcp_max_orphans',
  'net.ipv4.tcp_orphan_retries',
  'net.ipv4.tcp_retries2',
  'net.ipv4.tcp_abort_on_overflow',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_fastopen',
  'net.ipv4.tcp_mem',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.ip_local_port_range',
  // Only kernels before 4.12 have it; where it exists, a 1 here breaks clients behind NAT.
  'net.ipv4.tcp_tw_recycle',
  'net.core.somaxconn',
  'net.core.netdev_max_backlog',
];

/** Reads one sysctl; undefined when the kernel does not have it. */
export async function readSysctl(proc: ProcRoot, name: string): Promise<number[] | undefined> {
  const segments = ['sys', ...name.split('.')];
  const text = await proc.readTextIfExists(...segments);
  return text === undefined ? undefined : parseSysctl(proc.sysctlPath(name), name, text);
}

const SYSCTL_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/;

export const SYSCTL_FLAGS = {
  include: stringListFlag('collector.sysctl.include', {
    help: 'extra sysctl to expose, dotted (net.ipv4.tcp_rmem)',
    valueName: '<name>',
    example: 'net.ipv4.tcp_notsent_lowat',
    check: (name) => (SYSCTL_NAME.test(name) ? undefined : `expected a dotted sysctl name such as net.ipv4.tcp_rmem, got ${JSON.stringify(name)}`),
  }),
};

/** Curated TCP sysctls, plus --collector.sysctl.include, and what follows from them. */
export const sysctlCollector: FileCollector<typeof SYSCTL_FLAGS> = {
  name: 'sysctl',
  defaultEnabled: true,
  description: 'TCP tunables from /proc/sys (syncookies, backlogs, keepalive, tcp_mem, ip_local_port_range, ...)',
  flags: SYSCTL_FLAGS,
  reads: 'files',
  async collect({ proc }, options, registry: Registry): Promise<void> {
    const names = [...new Set([...DEFAULT_SYSCTLS, ...options.include])];
    const settled = await Promise.allSettled(names.map((name) => readSysctl(proc, name)));
    const values = new Map<string, number[]>();
    const failures: string[] = [];
    settled.forEach((result, i) => {
      if (result.status === 'rejected') failures.push(oneLine(result.reason));
      else if (result.value !== undefined) values.set(names[i]!, result.value);
    });

    const sysctl = scrapeGauge(registry, 'tcpstate_sysctl', 'A numeric sysctl, as the kernel writes it; multi-value sysctls have one series per position (index).', ['name', 'index']);
    for (const [name, numbers] of values) {
      if (numbers.length === 1) sysctl.set({ name }, numbers[0]!);
      else numbers.forEach((value, index) => sysctl.set({ name, index: String(index) }, value));
    }

    const time = values.get('net.ipv4.tcp_keepalive_time')?.[0];
    const interval = values.get('net.ipv4.tcp_keepalive_intvl')?.[0];
    const probes = values.get('net.ipv4.tcp_keepalive_probes')?.[0];
    if (time !== undefined && interval !== undefined && probes !== undefined) {
      scrapeGauge(registry, 'tcpstate_keepalive_detection_seconds', 'Worst case to notice a dead peer with keepalive on: tcp_keepalive_time + tcp_keepalive_intvl * tcp_keepalive_probes.').set(time + interval * probes);
    }

    const tcpMem = values.get('net.ipv4.tcp_mem');
    if (tcpMem !== undefined && tcpMem.length === 3) {
      const page = await pageSize(proc);
      const limit = scrapeGauge(registry, 'tcpstate_memory_limit_bytes', 'net.ipv4.tcp_mem thresholds in bytes: low, pressure (TCP starts to moderate buffers), high (allocations fail).', ['threshold']);
      (['low', 'pressure', 'high'] as const).forEach((threshold, i) => limit.set({ threshold }, tcpMem[i]! * page));
    }

    // The sysctls that could be read are served; the ones that could not fail the collector.
    if (failures.length > 0) throw new Error(failures.join('; '));
  },
};
