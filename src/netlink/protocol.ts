/**
 * The NETLINK_SOCK_DIAG inet_diag wire protocol: constants and request encoders (pure, no I/O).
 *
 * Layouts, from include/uapi/linux/{netlink,sock_diag,inet_diag}.h (all host-endian except
 * the ports and addresses inside inet_diag_sockid, which are network order):
 *
 *   struct nlmsghdr        (16) len u32 @0, type u16 @4, flags u16 @6, seq u32 @8, pid u32 @12
 *   struct inet_diag_req_v2 (56) family u8 @0, protocol u8 @1, ext u8 @2, pad u8 @3,
 *                                 states u32 @4, id inet_diag_sockid @8
 *   struct inet_diag_sockid (48) sport be16 @0, dport be16 @2, src be32[4] @4, dst be32[4] @20,
 *                                 if u32 @36, cookie u32[2] @40
 *   struct inet_diag_msg   (72) family u8 @0, state u8 @1, timer u8 @2, retrans u8 @3,
 *                                 id @4, expires u32 @52, rqueue u32 @56, wqueue u32 @60,
 *                                 uid u32 @64, inode u32 @68; then netlink attributes
 *   struct rtattr           (4)  len u16 @0 (header included), type u16 @2; payload 4-byte aligned
 */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const IPPROTO_TCP = 6;

export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
/** The original inet_diag request type (include/uapi/linux/inet_diag.h): a TCP dump of every family. */
export const TCPDIAG_GETSOCK = 18;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH

export const INET_DIAG_REQ_V2_LEN = 56;
export const INET_DIAG_MSG_LEN = 72;
/**
 * The attribute with the socket's cgroup v2 id (a u64: the inode of the cgroup's directory). The
 * kernel adds it to every full socket even when no extension is asked for (inet_diag_msg_attrs_fill,
 * CONFIG_SOCK_CGROUP_DATA); TIME_WAIT and request sockets have no cgroup and never carry it.
 */
export const INET_DIAG_CGROUP_ID = 21;
export const DUMP_REQUEST_LEN = NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN;
/** struct inet_diag_req: family, src_len, dst_len, ext (u8 each), id (48), states u32 @52, dbs u32 @56. */
export const INET_DIAG_REQ_LEN = 60;
export const ALL_FAMILIES_REQUEST_LEN = NLMSG_HDRLEN + INET_DIAG_REQ_LEN;

/**
 * Every state from TCP_ESTABLISHED (1) to TCP_NEW_SYN_RECV (12): bits 1..12. Bit 13,
 * TCP_BOUND_INACTIVE (kernel 6.8+), is deliberately left out: it would add bound-but-idle sockets
 * that /proc/net/tcp does not list. Request sockets (NEW_SYN_RECV in the ehash) are dumped when
 * bit 3 or 12 is set, and come back with idiag_state TCP_SYN_RECV (3), timer 1, no inode, and
 * idiag_retrans = num_retrans (SYN-ACKs actually sent again; /proc/net/tcp shows num_timeout,
 * which also counts retransmissions that failed locally, e.g. dropped by an OUTPUT rule).
 * TIME_WAIT sockets are matched on their substate: TIME_WAIT, or FIN_WAIT2 for an orphaned
 * FIN_WAIT2 socket the kernel turned into a timewait socket (timer 3, as in /proc/net/tcp).
 */
export const ALL_TCP_STATES = 0x1ffe;

/** Keep in step with the kernel: one skb of a dump is at most 32 KiB (netlink_recvmsg caps it). */
export const MIN_RECV_BUFFER = 32768;

/**
 * The dump request for one family: nlmsghdr + inet_diag_req_v2 for IPPROTO_TCP, `states`
 * (ALL_TCP_STATES, or 0 for a cheap probe that only checks the kernel would answer), no
 * extensions (idiag_ext = 0: asking for tcp_info roughly doubles the kernel's work).
 */
export function encodeDumpRequest(family: number, seq: number, states: number = ALL_TCP_STATES): Uint8Array {
  const bytes = new Uint8Array(DUMP_REQUEST_LEN);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, DUMP_REQUEST_LEN, true);
  view.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, 0, true); // the kernel fills in our port id
  bytes[NLMSG_HDRLEN] = family;
  bytes[NLMSG_HDRLEN + 1] = IPPROTO_TCP;
  bytes[NLMSG_HDRLEN + 2] = 0; // idiag_ext
  view.setUint32(NLMSG_HDRLEN + 4, states >>> 0, true);
  // inet_diag_sockid stays zero: no port/address filter; cookie zero is ignored for dumps.
  return bytes;
}

/**
 * One dump of TCP sockets of every family in a single walk of the hash table: the original
 * TCPDIAG_GETSOCK request (struct inet_diag_req), which the kernel still serves through
 * inet_diag_rcv_msg_compat with sdiag_family = AF_UNSPEC. Two SOCK_DIAG_BY_FAMILY dumps
 * (AF_INET, then AF_INET6) each walk the whole table (every namespace's sockets, skipping the
 * other family's), so on a host with 600k IPv4 sockets the AF_INET6 dump alone costs ~100 ms
 * for nothing. Replies are the same inet_diag_msg records, with nlmsg_type TCPDIAG_GETSOCK and
 * each socket's own idiag_family. Same states, no extensions.
 */
export function encodeAllFamiliesDumpRequest(seq: number, states: number = ALL_TCP_STATES): Uint8Array {
  const bytes = new Uint8Array(ALL_FAMILIES_REQUEST_LEN);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, ALL_FAMILIES_REQUEST_LEN, true);
  view.setUint16(4, TCPDIAG_GETSOCK, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq >>> 0, true);
  bytes[NLMSG_HDRLEN] = AF_INET; // idiag_family: not used by a dump
  view.setUint32(NLMSG_HDRLEN + 52, states >>> 0, true);
  return bytes;
}


/** The request for one dump: AF_UNSPEC means every family in one walk (TCPDIAG_GETSOCK). */
export function encodeRequest(family: number, seq: number): Uint8Array {
  return family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(seq) : encodeDumpRequest(family, seq);
}
