/**
 * The per-series summary of tcp_info that the tcpinfo collector exports (docs/tcpinfo.md): for
 * each slot (one `{port, direction}` series) the socket count, the RTT and idle histograms, and
 * the sums and extremes behind the gauges, all in typed arrays: adding a socket allocates nothing.
 *
 * A field the running kernel does not send is skipped, and `has(field)` stays false until one
 * socket had it, so the collector can leave those series out instead of reporting zeros.
 */
import { idleHistograms, rttHistograms, type SlotHistograms } from './rtt-histogram.js';
import { TCP_CA_LOSS, TCP_INFO_LAYOUT, type TcpInfoField, type TcpInfoReader } from './tcp-info.js';

/** Label values of tcpi_ca_state, by value (enum tcp_ca_state). */
export const CA_STATES = ['open', 'disorder', 'cwr', 'recovery', 'loss'] as const;

/** The fields whose presence decides whether a series is exported. */
const TRACKED = ['rtt', 'rttvar', 'minRtt', 'lastDataRecv', 'totalRetrans', 'lost', 'rwndLimited', 'sndbufLimited', 'caState', 'retransmits', 'segsOut'] as const satisfies readonly TcpInfoField[];
export type TrackedField = (typeof TRACKED)[number];
// Offsets read once: the per-socket path then does typed reads at constant offsets.
const RTT = TCP_INFO_LAYOUT.rtt[0];
const RTTVAR = TCP_INFO_LAYOUT.rttvar[0];
const MIN_RTT = TCP_INFO_LAYOUT.minRtt[0];
const LAST_DATA_RECV = TCP_INFO_LAYOUT.lastDataRecv[0];
const CA_STATE = TCP_INFO_LAYOUT.caState[0];
const RETRANSMITS = TCP_INFO_LAYOUT.retransmits[0];
const TOTAL_RETRANS = TCP_INFO_LAYOUT.totalRetrans[0];
const LOST = TCP_INFO_LAYOUT.lost[0];
const RWND_LIMITED = TCP_INFO_LAYOUT.rwndLimited[0];
const SNDBUF_LIMITED = TCP_INFO_LAYOUT.sndbufLimited[0];
const SEGS_OUT = TCP_INFO_LAYOUT.segsOut[0];

/** One bit per tracked field: presence is recorded per socket, so it must cost one OR. */
const BIT = Object.fromEntries(TRACKED.map((f, i) => [f, 1 << i])) as Record<TrackedField, number>;

export class TcpInfoSummary {
  readonly rtt: SlotHistograms;
  readonly idle: SlotHistograms;
  readonly sockets: Float64Array;
  /** Lowest tcpi_min_rtt per slot, µs (+Infinity while no socket had one). */
  readonly minRttMicros: Float64Array;
  readonly rttvarMicrosSum: Float64Array;
  /** Per slot, CA_STATES.length counts. */
  readonly caStateSockets: Float64Array;
  /** Sockets with tcpi_retransmits > 0: an RTO retransmission not yet acknowledged. */
  readonly retransmittingSockets: Float64Array;
  readonly totalRetransSum: Float64Array;
  /** tcpi_segs_out summed: the segments these sockets sent, retransmissions included (the ratio's denominator). */
  readonly segsOutSum: Float64Array;
  readonly lostSum: Float64Array;
  readonly rwndLimitedMicrosSum: Float64Array;
  readonly sndbufLimitedMicrosSum: Float64Array;
  /** Per slot, sockets that had tcpi_rttvar (the mean's denominator). */
  private readonly rttvarSockets: Float64Array;
  private present = 0;

  constructor(readonly slots: number) {
    this.rtt = rttHistograms(slots);
    this.idle = idleHistograms(slots);
    const f = (): Float64Array => new Float64Array(slots);
    this.sockets = f();
    this.minRttMicros = f().fill(Infinity);
    this.rttvarMicrosSum = f();
    this.rttvarSockets = f();
    this.caStateSockets = new Float64Array(slots * CA_STATES.length);
    this.retransmittingSockets = f();
    this.totalRetransSum = f();
    this.segsOutSum = f();
    this.lostSum = f();
    this.rwndLimitedMicrosSum = f();
    this.sndbufLimitedMicrosSum = f();
  }

  /** Adds the socket `info` points at to `slot`. A socket in two series (both its ports watched) is added to each. */
  add(slot: number, info: TcpInfoReader): void {
    this.sockets[slot]!++;
    const rtt = info.u32At(RTT);
    if (rtt !== undefined) {
      this.rtt.observe(slot, rtt);
      this.present |= BIT.rtt;
    }
    const rttvar = info.u32At(RTTVAR);
    if (rttvar !== undefined) {
      this.rttvarMicrosSum[slot]! += rttvar;
      this.rttvarSockets[slot]!++;
      this.present |= BIT.rttvar;
    }
    const minRtt = info.u32At(MIN_RTT);
    // 0 means "no sample yet" in the kernel (tcp_min_rtt of a socket that never got an ACK).
    if (minRtt !== undefined) {
      this.present |= BIT.minRtt;
      if (minRtt > 0 && minRtt < this.minRttMicros[slot]!) this.minRttMicros[slot] = minRtt;
    }
    const idle = info.u32At(LAST_DATA_RECV);
    if (idle !== undefined) {
      this.idle.observe(slot, idle);
      this.present |= BIT.lastDataRecv;
    }
    const caState = info.u8At(CA_STATE);
    if (caState !== undefined) {
      this.present |= BIT.caState;
      if (caState <= TCP_CA_LOSS) this.caStateSockets[slot * CA_STATES.length + caState]!++;
    }
    const retransmits = info.u8At(RETRANSMITS);
    if (retransmits !== undefined) {
      this.present |= BIT.retransmits;
      if (retransmits > 0) this.retransmittingSockets[slot]!++;
    }
    const totalRetrans = info.u32At(TOTAL_RETRANS);
    if (totalRetrans !== undefined) {
      this.totalRetransSum[slot]! += totalRetrans;
      this.present |= BIT.totalRetrans;
    }
    const segsOut = info.u32At(SEGS_OUT);
    if (segsOut !== undefined) {
      this.segsOutSum[slot]! += segsOut;
      this.present |= BIT.segsOut;
    }
    const lost = info.u32At(LOST);
    if (lost !== undefined) {
      this.lostSum[slot]! += lost;
      this.present |= BIT.lost;
    }
    const rwndLimited = info.u64At(RWND_LIMITED);
    if (rwndLimited !== undefined) {
      this.rwndLimitedMicrosSum[slot]! += rwndLimited;
      this.present |= BIT.rwndLimited;
    }
    const sndbufLimited = info.u64At(SNDBUF_LIMITED);
    if (sndbufLimited !== undefined) {
      this.sndbufLimitedMicrosSum[slot]! += sndbufLimited;
      this.present |= BIT.sndbufLimited;
    }
  }

  /** Whether any socket added so far carried `field`. */
  has(field: TrackedField): boolean {
    return (this.present & BIT[field]) !== 0;
  }

  /** Mean tcpi_rttvar of the slot in seconds, or undefined without a socket that had it. */
  meanRttvarSeconds(slot: number): number | undefined {
    const n = this.rttvarSockets[slot]!;
    return n === 0 ? undefined : this.rttvarMicrosSum[slot]! / n / 1e6;
  }

  /** Lowest tcpi_min_rtt of the slot in seconds, or undefined when no socket had a sample. */
  minRttSeconds(slot: number): number | undefined {
    const v = this.minRttMicros[slot]!;
    return v === Infinity ? undefined : v / 1e6;
  }

  /** Sockets of `slot` in congestion-avoidance state `ca` (index into CA_STATES). */
  caState(slot: number, ca: number): number {
    return this.caStateSockets[slot * CA_STATES.length + ca]!;
  }

  reset(): void {
    this.rtt.reset();
    this.idle.reset();
    for (const a of [this.sockets, this.rttvarMicrosSum, this.rttvarSockets, this.caStateSockets, this.retransmittingSockets, this.totalRetransSum, this.segsOutSum, this.lostSum, this.rwndLimitedMicrosSum, this.sndbufLimitedMicrosSum]) a.fill(0);
    this.minRttMicros.fill(Infinity);
    this.present = 0;
  }
}
