/**
 * Pure encoders of the tcp_info dump requests: ESTABLISHED sockets only, with INET_DIAG_INFO
 * asked for, and optionally an INET_DIAG_REQ_BYTECODE port filter (see bytecode.ts). The
 * counting dump of every state stays as it is (no extension): this is a second, smaller dump.
 *
 *   SOCK_DIAG_BY_FAMILY: nlmsghdr (16) + inet_diag_req_v2 (56) [+ bytecode nlattr]
 *     family u8 @0, protocol u8 @1, ext u8 @2, pad @3, states u32 @4, id (48) @8
 *   TCPDIAG_GETSOCK (both families in one walk): nlmsghdr (16) + inet_diag_req (60) [+ nlattr]
 *     family u8 @0, src_len @1, dst_len @2, ext u8 @3, id (48) @4, states u32 @52, dbs u32 @56
 * The kernel finds the bytecode attribute right after either struct (inet_diag_dump /
 * inet_diag_rcv_msg_compat) and audits it before the walk.
 */
import {
  AF_INET,
  INET_DIAG_REQ_LEN,
  INET_DIAG_REQ_V2_LEN,
  IPPROTO_TCP,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  SOCK_DIAG_BY_FAMILY,
  TCPDIAG_GETSOCK,
} from './protocol.js';
import { TCP_ESTABLISHED } from '../kernel/tcp.js';
import { encodeBytecodeAttribute } from './bytecode.js';
import { INET_DIAG_INFO } from './tcp-info.js';

/** idiag_states bit of ESTABLISHED alone. */
export const ESTABLISHED_ONLY = 1 << TCP_ESTABLISHED;
/** idiag_ext bit that asks for struct tcp_info (extension n is bit n - 1). */
export const EXT_INFO = 1 << (INET_DIAG_INFO - 1);

export interface InfoDumpOptions {
  /** A program from encodePortFilter(), or none for every ESTABLISHED socket. */
  readonly bytecode?: Uint8Array | undefined;
  /** idiag_states; ESTABLISHED_ONLY unless told. */
  readonly states?: number;
}

/** SOCK_DIAG_BY_FAMILY for one family (AF_INET 2, AF_INET6 10). */
export function encodeInfoDumpRequest(family: number, seq: number, options: InfoDumpOptions = {}): Uint8Array {
  const attribute = options.bytecode === undefined ? EMPTY : encodeBytecodeAttribute(options.bytecode);
  const len = NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN + attribute.length;
  const bytes = new Uint8Array(len);
  const view = new DataView(bytes.buffer);
  writeHeader(view, len, SOCK_DIAG_BY_FAMILY, seq);
  bytes[NLMSG_HDRLEN] = family;
  bytes[NLMSG_HDRLEN + 1] = IPPROTO_TCP;
  bytes[NLMSG_HDRLEN + 2] = EXT_INFO;
  view.setUint32(NLMSG_HDRLEN + 4, (options.states ?? ESTABLISHED_ONLY) >>> 0, LITTLE_ENDIAN);
  bytes.set(attribute, NLMSG_HDRLEN + INET_DIAG_REQ_V2_LEN);
  return bytes;
}

/** TCPDIAG_GETSOCK: both families in one walk of the hash table, as the counting dump does. */
export function encodeAllFamiliesInfoDumpRequest(seq: number, options: InfoDumpOptions = {}): Uint8Array {
  const attribute = options.bytecode === undefined ? EMPTY : encodeBytecodeAttribute(options.bytecode);
  const len = NLMSG_HDRLEN + INET_DIAG_REQ_LEN + attribute.length;
  const bytes = new Uint8Array(len);
  const view = new DataView(bytes.buffer);
  writeHeader(view, len, TCPDIAG_GETSOCK, seq);
  bytes[NLMSG_HDRLEN] = AF_INET; // idiag_family: a dump ignores it
  bytes[NLMSG_HDRLEN + 3] = EXT_INFO;
  view.setUint32(NLMSG_HDRLEN + 52, (options.states ?? ESTABLISHED_ONLY) >>> 0, LITTLE_ENDIAN);
  bytes.set(attribute, NLMSG_HDRLEN + INET_DIAG_REQ_LEN);
  return bytes;
}

function writeHeader(view: DataView, len: number, type: number, seq: number): void {
  view.setUint32(0, len, LITTLE_ENDIAN);
  view.setUint16(4, type, LITTLE_ENDIAN);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, LITTLE_ENDIAN);
  view.setUint32(8, seq >>> 0, LITTLE_ENDIAN);
  view.setUint32(12, 0, LITTLE_ENDIAN); // the kernel fills in our port id
}

const EMPTY = new Uint8Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
