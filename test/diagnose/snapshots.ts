import type { Observation } from '../../src/diagnose/observation.js';
import type { CollectorOutcome, Sample, Snapshot } from '../../src/diagnose/snapshot.js';
import { TCP_STATES, type TcpStateName } from '../../src/kernel/tcp.js';

type States = Partial<Record<TcpStateName, number>>;

const PAGE = 4096;

/**
 * Crafted snapshots for the pure checks. `healthyHost()` is a busy but healthy web server with
 * the kernel defaults; each test changes only what its check reads.
 */
export class SnapshotBuilder {
  private readonly metrics = new Map<string, Sample[]>();
  private readonly outcomes = new Map<string, CollectorOutcome>();
  private takenAtMs = 1_700_000_000_000;
  private socketSource = 'netlink';

  /** Sets (replaces) the series with exactly these labels. */
  set(name: string, labels: Record<string, string>, value: number): this {
    const key = JSON.stringify(labels);
    const samples = (this.metrics.get(name) ?? []).filter((sample) => JSON.stringify(sample.labels) !== key);
    samples.push({ labels, value });
    this.metrics.set(name, samples);
    return this;
  }

  value(name: string, labels: Record<string, string> = {}): number {
    const key = JSON.stringify(labels);
    const found = this.metrics.get(name)?.find((sample) => JSON.stringify(sample.labels) === key);
    if (found === undefined) throw new Error(`no ${name}${key} in the crafted snapshot`);
    return found.value;
  }

  /** Removes a metric entirely, as when the kernel lacks it or a namespace hides it. */
  without(name: string, match: (labels: Record<string, string>) => boolean = () => true): this {
    const kept = (this.metrics.get(name) ?? []).filter((sample) => !match(sample.labels));
    if (kept.length === 0) this.metrics.delete(name);
    else this.metrics.set(name, kept);
    return this;
  }

  sysctl(name: string, value: number | number[]): this {
    this.without('tcpstate_sysctl', (labels) => labels.name === name);
    if (typeof value === 'number') return this.set('tcpstate_sysctl', { name }, value);
    value.forEach((v, index) => this.set('tcpstate_sysctl', { name, index: String(index) }, v));
    return this;
  }

  withoutSysctl(name: string): this {
    return this.without('tcpstate_sysctl', (labels) => labels.name === name);
  }

  /** tcpstate_sockets for one family; states not given are 0, as the exporter reports them. */
  states(states: States, family = 'ipv4'): this {
    for (const state of TCP_STATES) this.set('tcpstate_sockets', { family, state }, states[state] ?? 0);
    return this;
  }

  port(port: string, states: States): this {
    for (const state of TCP_STATES) this.set('tcpstate_port_sockets', { port, state }, states[state] ?? 0);
    return this;
  }

  process(name: string, states: States): this {
    for (const state of TCP_STATES) this.set('tcpstate_process_sockets', { process: name, state }, states[state] ?? 0);
    return this;
  }

  listenQueue(port: string, length: number, backlog: number | undefined): this {
    this.set('tcpstate_listen_queue_length', { port }, length);
    if (backlog !== undefined) this.set('tcpstate_listen_queue_max', { port }, backlog);
    return this;
  }

  /**
   * The tcpinfo series of one upstream port (direction="remote"): `rtts` are the sockets' smoothed
   * RTTs in seconds; `caStates` the sockets in recovery and loss (the rest are open).
   */
  upstream(port: string, figures: { rtts: readonly number[]; minRtt: number; retransmitted: number; sent: number; recovery?: number; loss?: number }): this {
    const labels = { port, direction: 'remote' };
    const sockets = figures.rtts.length;
    this.set('tcpstate_tcpinfo_sockets', labels, sockets);
    for (const le of [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2]) {
      this.set('tcpstate_tcpinfo_rtt_seconds_bucket', { ...labels, le: String(le) }, figures.rtts.filter((rtt) => rtt <= le).length);
    }
    this.set('tcpstate_tcpinfo_rtt_seconds_bucket', { ...labels, le: '+Inf' }, sockets);
    this.set('tcpstate_tcpinfo_min_rtt_seconds', labels, figures.minRtt);
    this.set('tcpstate_tcpinfo_retransmitted_segments', labels, figures.retransmitted);
    this.set('tcpstate_tcpinfo_sent_segments', labels, figures.sent);
    const recovery = figures.recovery ?? 0;
    const loss = figures.loss ?? 0;
    for (const [ca, n] of [['open', sockets - recovery - loss], ['disorder', 0], ['cwr', 0], ['recovery', recovery], ['loss', loss]] as const) {
      this.set('tcpstate_tcpinfo_ca_state_sockets', { ...labels, ca_state: ca }, n);
    }
    return this;
  }

  collector(name: string, error?: string): this {
    this.outcomes.set(name, { name, ok: error === undefined, error, seconds: 0.01 });
    return this;
  }

  disableCollector(name: string): this {
    this.outcomes.delete(name);
    return this;
  }

  source(name: string): this {
    this.socketSource = name;
    return this;
  }

  at(ms: number): this {
    this.takenAtMs = ms;
    return this;
  }

  build(): Snapshot {
    return {
      takenAtMs: this.takenAtMs,
      source: this.socketSource,
      collectors: [...this.outcomes.values()],
      metrics: new Map([...this.metrics].map(([name, samples]) => [name, [...samples]])),
    };
  }
}

export type Configure = (builder: SnapshotBuilder) => SnapshotBuilder | void;

/** Kernel counters of the healthy host (since boot). */
export const BASE_COUNTERS: Readonly<Record<string, number>> = {
  tcpstate_active_opens_total: 50_000,
  tcpstate_passive_opens_total: 900_000,
  tcpstate_established_resets_total: 1_000,
  tcpstate_segments_sent_total: 90_000_000,
  tcpstate_segments_received_total: 95_000_000,
  tcpstate_retransmitted_segments_total: 90_000,
  tcpstate_resets_sent_total: 20_000,
  tcpstate_listen_overflows_total: 17,
  tcpstate_listen_drops_total: 17,
  tcpstate_syncookies_sent_total: 0,
  tcpstate_syn_queue_drops_total: 0,
  tcpstate_time_wait_overflow_total: 0,
  tcpstate_keepalive_probes_total: 400,
  tcpstate_memory_pressures_total: 0,
};

export function healthyHost(): SnapshotBuilder {
  const builder = new SnapshotBuilder();
  for (const name of ['sockets', 'sockstat', 'netstat', 'sysctl', 'process', 'tcpinfo']) builder.collector(name);
  // A connection pool to a database on the same LAN: sub-millisecond, no loss.
  builder.upstream('5432', { rtts: [0.0003, 0.0004, 0.0004, 0.0006], minRtt: 0.00012, retransmitted: 1, sent: 200_000 });
  builder
    .states({ established: 420, time_wait: 300, close_wait: 3, syn_recv: 2, listen: 3, fin_wait2: 4 })
    .states({ established: 10, listen: 1 }, 'ipv6')
    .port('443', { listen: 2, established: 400, close_wait: 3, time_wait: 250, syn_recv: 2 })
    .port('80', { listen: 1, established: 20, time_wait: 50 })
    .port('22', { listen: 1, established: 2 })
    .listenQueue('443', 3, 1022)
    .listenQueue('80', 0, 511)
    .listenQueue('22', 0, 128)
    .process('nginx', { listen: 3, established: 410, close_wait: 3 })
    .process('sshd', { listen: 1, established: 2 })
    .process('unknown', { time_wait: 300, fin_wait2: 4, syn_recv: 2 })
    .set('tcpstate_process_unreadable', {}, 0)
    .set('tcpstate_keepalive_sockets', { state: 'established' }, 40)
    .set('tcpstate_keepalive_probing_sockets', {}, 1)
    .set('tcpstate_retransmitting_sockets', {}, 2)
    .set('tcpstate_ephemeral_ports_used', {}, 120)
    .set('tcpstate_ephemeral_port_usage_ratio', {}, 0.004)
    .set('tcpstate_sockstat_inuse', { family: 'ipv4' }, 430)
    .set('tcpstate_sockstat_orphan', {}, 12)
    .set('tcpstate_sockstat_tw', {}, 304)
    .set('tcpstate_sockstat_alloc', {}, 460)
    .set('tcpstate_sockstat_memory_bytes', {}, 2000 * PAGE)
    .set('tcpstate_keepalive_detection_seconds', {}, 7200 + 75 * 9)
    .sysctl('net.ipv4.tcp_syncookies', 1)
    .sysctl('net.ipv4.tcp_max_syn_backlog', 4096)
    .sysctl('net.ipv4.tcp_max_tw_buckets', 262144)
    .sysctl('net.ipv4.tcp_max_orphans', 262144)
    .sysctl('net.ipv4.tcp_orphan_retries', 0)
    .sysctl('net.ipv4.tcp_fin_timeout', 60)
    .sysctl('net.ipv4.tcp_keepalive_time', 7200)
    .sysctl('net.ipv4.tcp_keepalive_intvl', 75)
    .sysctl('net.ipv4.tcp_keepalive_probes', 9)
    .sysctl('net.ipv4.ip_local_port_range', [32768, 60999])
    .sysctl('net.ipv4.tcp_mem', [188_000, 250_000, 376_000]);
  for (const [threshold, pages] of [['low', 188_000], ['pressure', 250_000], ['high', 376_000]] as const) builder.set('tcpstate_memory_limit_bytes', { threshold }, pages * PAGE);
  for (const [name, value] of Object.entries(BASE_COUNTERS)) builder.set(name, {}, value);
  for (const reason of ['data', 'close', 'memory', 'timeout', 'linger', 'failed']) builder.set('tcpstate_aborts_total', { reason }, 100);
  return builder;
}

/** The healthy host seen once (--diagnose.interval=0). */
export function oneLook(configure: Configure = () => undefined): Observation {
  const builder = healthyHost();
  configure(builder);
  return { current: builder.build(), previous: undefined };
}

export interface TwoLooks {
  /** Applied to both snapshots. */
  both?: Configure;
  before?: Configure;
  after?: Configure;
  /** Unlabelled counters that grow by this much per second between the looks; the rest stay. */
  rates?: Readonly<Record<string, number>>;
  seconds?: number;
}

/** The healthy host seen twice, `seconds` apart (default 10), with the given counter rates. */
export function twoLooks(spec: TwoLooks = {}): Observation {
  const seconds = spec.seconds ?? 10;
  const before = healthyHost();
  const after = healthyHost().at(before.build().takenAtMs + seconds * 1000);
  for (const [name, perSecond] of Object.entries(spec.rates ?? {})) after.set(name, {}, after.value(name) + perSecond * seconds);
  spec.both?.(before);
  spec.both?.(after);
  spec.before?.(before);
  spec.after?.(after);
  return { current: after.build(), previous: before.build() };
}
