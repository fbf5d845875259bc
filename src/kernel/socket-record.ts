import type { EndpointKey } from './endpoint-key.js';
import type { Family } from './tcp.js';

/**
 * One socket as a source sees it. Sources reuse a single record object for every socket and
 * overwrite its fields, so the hot path builds no object per socket: a sink must read what it
 * needs during `add()` and keep no reference to the record.
 */
export interface SocketRecord {
  family: Family;
  /** Kernel state number (1..12; 12 is a request socket, counted as syn_recv). */
  state: number;
  localPort: number;
  remotePort: number;
  /**
   * Bytes in the receive queue. For a LISTEN socket the kernel reports the accept-queue length here.
   */
  rxQueue: number;
  /**
   * Bytes in the send queue. For a LISTEN socket, netlink reports the accept-queue limit (backlog)
   * here; /proc/net/tcp reports 0 because it does not know the limit.
   */
  txQueue: number;
  /** Timer code (TIMER_* in tcp.ts). */
  timer: number;
  /** Retransmissions of the current segment (request sockets: SYN-ACK retransmissions). */
  retransmits: number;
  /** Unanswered keepalive or zero-window probes. */
  probes: number;
  /** Socket inode; 0 for sockets without one (TIME_WAIT, request sockets). */
  inode: number;
  /**
   * The inode number of the cgroup v2 directory of the process that created the socket
   * (INET_DIAG_CGROUP_ID); 0 when unknown: TIME_WAIT and request sockets, kernels without
   * CONFIG_SOCK_CGROUP_DATA, and always from /proc/net/tcp, which does not show it.
   */
  cgroupId: number;
  /**
   * A key that identifies the remote address and port, the same from every source (see
   * kernel/endpoint-key.ts). Computed on demand because only sockets on ephemeral local ports
   * need it. IPv4-mapped IPv6 addresses give the same key as the IPv4 address, because they draw
   * on the same port space.
   */
  remoteEndpointKey(): EndpointKey;
}

export interface SocketSink {
  add(socket: SocketRecord): void;
}

export type SocketSourceName = 'netlink' | 'procfs';

export interface ScanResult {
  /** Families the kernel has; a family without kernel support (no IPv6) is left out. */
  families: Family[];
  /** Whether LISTEN records carry the accept-queue limit in txQueue. */
  listenQueueLimitKnown: boolean;
}

/**
 * Encodes one sock_diag dump request: `family` is AF_INET, AF_INET6, or AF_UNSPEC for one walk of
 * every family (TCPDIAG_GETSOCK). The counting dump has its own; the tcp_info dump passes another.
 */
export type DumpRequestEncoder = (family: number, seq: number) => Uint8Array;

/** One dump of the table with a request the caller encodes (extensions, states, a bytecode filter). */
export type RequestedDump = (sink: SocketSink, encode: DumpRequestEncoder) => Promise<ScanResult>;

/** Streams the kernel's TCP socket table into a sink, one record at a time. */
export interface SocketSource {
  readonly name: SocketSourceName;
  scan(sink: SocketSink): Promise<ScanResult>;
  /**
   * How to make a dump with a request of one's own, or undefined where this source cannot right
   * now (procfs has no requests; a netlink source that fell back to procfs). Asked per scrape.
   */
  requestedDump?(): RequestedDump | undefined;
}
