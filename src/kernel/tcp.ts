/** TCP vocabulary shared by the sources, the aggregate and the collectors. */

/** Label values of the `state` label, in the kernel's numbering order (include/net/tcp_states.h). */
export const TCP_STATES = [
  'established',
  'syn_sent',
  'syn_recv',
  'fin_wait1',
  'fin_wait2',
  'time_wait',
  'close',
  'close_wait',
  'last_ack',
  'listen',
  'closing',
] as const;
export type TcpStateName = (typeof TCP_STATES)[number];

/** Kernel state numbers we care about by name. */
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_RECV = 3;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LISTEN = 10;
/** Request sockets (a SYN received, SYN-ACK sent) are dumped with this state; we count them as syn_recv. */
export const TCP_NEW_SYN_RECV = 12;

/**
 * Arrays indexed by state use the kernel number directly, so index 0 is unused and the
 * highest index is TCP_CLOSING (11). A lookup is then a single array access on the hot path.
 */
export const STATE_SLOTS = 12;

/** Kernel state number -> array slot (1..11), or -1 for a number the kernel should not report. */
export function stateSlot(kernelState: number): number {
  if (kernelState >= 1 && kernelState <= 11) return kernelState;
  if (kernelState === TCP_NEW_SYN_RECV) return TCP_SYN_RECV;
  return -1;
}

/** Label value for an array slot (1..11). */
export function stateName(slot: number): TcpStateName {
  const name = TCP_STATES[slot - 1];
  if (name === undefined) throw new RangeError(`no TCP state in slot ${slot}`);
  return name;
}

export const FAMILIES = ['ipv4', 'ipv6'] as const;
export type FamilyName = (typeof FAMILIES)[number];
/** Index into FAMILIES: 0 = ipv4, 1 = ipv6. */
export type Family = 0 | 1;

/** The kernel's timer codes, as /proc/net/tcp's `tr` field and inet_diag's idiag_timer report them. */
export const TIMER_NONE = 0;
export const TIMER_RETRANSMIT = 1;
export const TIMER_KEEPALIVE = 2;
export const TIMER_TIME_WAIT = 3;
export const TIMER_ZERO_WINDOW_PROBE = 4;
