/**
 * Network impairment on one port's traffic inside a test namespace, with what this kernel has:
 * no netem, no prio/fq_codel qdiscs, no flower/basic/matchall classifiers; htb, tbf, pfifo and
 * the u32 classifier do work, and so does iptables' statistic match.
 *
 *   shapePort      a root htb whose unclassified traffic bypasses shaping (no `default` class),
 *                  one htb class per shaped port with a tbf leaf (rate, burst, latency bound),
 *                  and u32 filters (IPv4 and IPv6) on the destination port: packets *to* the
 *                  port queue behind the rate limit, so a sender's RTT rises to the queueing delay
 *   dropPortPackets iptables/ip6tables INPUT rules that drop a random fraction of the packets
 *                  to (and optionally from) the port
 *
 * Every impairment has remove(); destroying the namespace removes them all as well.
 */
import type { TestNamespace } from './netns.js';
import { parseSsInfo, type SsSocket } from './ss-info.js';

export interface Impairment {
  /** What was installed, for messages. */
  readonly description: string;
  remove(): Promise<void>;
}

export interface ShapeOptions {
  /** The rate limit, in kbit/s. */
  readonly rateKbit: number;
  /** tbf's bound on queueing delay: packets that would wait longer are dropped. */
  readonly latencyMs: number;
  /** tbf bucket; at least one loopback GSO packet (64 KiB), or nothing passes. Default 70 kB. */
  readonly burstBytes?: number;
}

/** Per namespace: the shaped ports, and the next class/filter number (they must not collide). */
const shaped = new WeakMap<TestNamespace, { ports: Set<number>; next: number }>();

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`impairment: port ${port} is not in 1..65535`);
}

async function tc(ns: TestNamespace, args: readonly string[]): Promise<void> {
  try {
    await ns.exec('tc', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`impairment: tc ${args.join(' ')} failed: ${stderr.trim().split('\n')[0] ?? (error as Error).message}`);
  }
}

/** Rate-limits the traffic sent to `port` on lo (both families) through htb + tbf. */
export async function shapePort(ns: TestNamespace, port: number, options: ShapeOptions): Promise<Impairment> {
  checkPort(port);
  if (!(options.rateKbit > 0) || !(options.latencyMs > 0)) throw new RangeError('impairment: rateKbit and latencyMs must be positive');
  let state = shaped.get(ns);
  if (state === undefined) {
    await tc(ns, ['qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb']);
    state = { ports: new Set(), next: 0x10 };
    shaped.set(ns, state);
  }
  const ports = state.ports;
  if (ports.has(port)) throw new Error(`impairment: port ${port} is already shaped`);
  // One number per shaping: class 1:<n>, leaf <n>:, filter priority <n> (hex in tc's handles).
  const n = state.next++;
  const id = n.toString(16);
  const rate = `${options.rateKbit}kbit`;
  await tc(ns, ['class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', `1:${id}`, 'htb', 'rate', rate, 'ceil', rate]);
  await tc(ns, ['qdisc', 'add', 'dev', 'lo', 'parent', `1:${id}`, 'handle', `${id}:`, 'tbf', 'rate', rate, 'burst', String(options.burstBytes ?? 70_000), 'latency', `${options.latencyMs}ms`]);
  await tc(ns, ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', String(n), 'u32', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', `1:${id}`]);
  await tc(ns, ['filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ipv6', 'prio', String(n + 1000), 'u32', 'match', 'ip6', 'dport', String(port), '0xffff', 'flowid', `1:${id}`]);
  ports.add(port);
  const description = `traffic to port ${port} limited to ${rate} (tbf latency ${options.latencyMs} ms)`;
  return {
    description,
    remove: async () => {
      await tc(ns, ['filter', 'del', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', String(n)]);
      await tc(ns, ['filter', 'del', 'dev', 'lo', 'parent', '1:', 'protocol', 'ipv6', 'prio', String(n + 1000)]);
      await tc(ns, ['qdisc', 'del', 'dev', 'lo', 'parent', `1:${id}`, 'handle', `${id}:`]);
      await tc(ns, ['class', 'del', 'dev', 'lo', 'classid', `1:${id}`]);
      ports.delete(port);
    },
  };
}

export interface DropOptions {
  /** Also drop packets *from* the port (the peer's ACKs and replies). Default true. */
  readonly bothDirections?: boolean;
}

/** Drops a random `probability` of the TCP packets to (and from) `port`, IPv4 and IPv6. */
export async function dropPortPackets(ns: TestNamespace, port: number, probability: number, options: DropOptions = {}): Promise<Impairment> {
  checkPort(port);
  if (!(probability > 0 && probability <= 1)) throw new RangeError(`impairment: drop probability ${probability} is not in (0, 1]`);
  const matches = options.bothDirections === false ? ['--dport'] : ['--dport', '--sport'];
  const rules = matches.map((m) => ['INPUT', '-p', 'tcp', m, String(port), '-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP']);
  const apply = async (action: '-A' | '-D'): Promise<void> => {
    for (const tool of ['iptables', 'ip6tables']) for (const rule of rules) await ns.exec(tool, ['-w', action, ...rule]);
  };
  await apply('-A');
  return {
    description: `${probability * 100}% of the packets ${options.bothDirections === false ? 'to' : 'to and from'} port ${port} dropped`,
    remove: () => apply('-D'),
  };
}

/**
 * Turns tail loss probes off in the namespace (net.ipv4.tcp_early_retrans=0). A probe fires when
 * no ACK came within about two smoothed RTTs (a few ms floor), which on loopback (RTT ~50 µs) is
 * a CPU stall on a busy CI host, not a loss: it counts as a retransmission and would make a clean
 * port look lossy. Real drops are then repaired by fast retransmit and the 200 ms RTO, as before.
 */
export async function withoutTailLossProbes(ns: TestNamespace): Promise<void> {
  await ns.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_early_retrans=0']);
}

/** `ss -tinoH state established <filter>` in the namespace, parsed. */
export async function ssEstablished(ns: TestNamespace, filter: string): Promise<SsSocket[]> {
  const { stdout } = await ns.exec('ss', ['-tinoH', 'state', 'established', filter]);
  return parseSsInfo(stdout);
}

/** ss's smoothed RTT of a socket, in milliseconds. */
export function ssRttMs(socket: SsSocket): number {
  const rtt = socket.fields.get('rtt');
  if (rtt === undefined) throw new Error(`ss printed no rtt for ${socket.local} -> ${socket.remote}`);
  return Number(rtt.split('/')[0]);
}

/** ss's tcpi_total_retrans of a socket (the second half of retrans:a/b; ss leaves it out when 0). */
export function ssTotalRetrans(socket: SsSocket): number {
  const retrans = socket.fields.get('retrans');
  return retrans === undefined ? 0 : Number(retrans.split('/')[1]);
}
