/**
 * Pure encoder of inet_diag bytecode filters (the INET_DIAG_REQ_BYTECODE attribute of a dump
 * request), for "local port in {set} OR remote port in {set}". The kernel then skips every other
 * socket before it locks it and fills tcp_info, which is most of the cost of an INET_DIAG_INFO dump.
 *
 * The machine, from include/uapi/linux/inet_diag.h and net/ipv4/inet_diag.c:
 *   struct inet_diag_bc_op { u8 code; u8 yes; u16 no; }   (host-endian)
 * A port comparison is two ops: the op, then one whose `no` holds the port (host order). The
 * kernel runs the program from the start; after each op it moves forward by `yes` bytes if the
 * test held, by `no` if not (JMP always takes `no`). The socket matches when it lands exactly on
 * the end; landing beyond it (the convention is end + 4) rejects. Before running, the kernel
 * audits the program and refuses it with EINVAL unless every `yes` and `no` is a multiple of 4,
 * at least the op's own length, at most remaining + 4, and every `no` that stays inside lands on
 * an op boundary reached by following the `yes` offsets from the start.
 *
 * Layout (as iproute2's ss compiles "a or b"): each predicate P_i is followed by a JMP whose `no`
 * skips everything after it:
 *   P_1 JMP(rest) P_2 JMP(rest) ... P_n
 * A predicate that holds falls through onto its JMP, which jumps to the end: match. One that
 * fails jumps 4 bytes past its own end, over its JMP, onto the next predicate; the last one's
 * failure lands on end + 4: no match.
 */

export const INET_DIAG_REQ_BYTECODE = 1;

export const INET_DIAG_BC_NOP = 0;
export const INET_DIAG_BC_JMP = 1;
export const INET_DIAG_BC_S_GE = 2;
export const INET_DIAG_BC_S_LE = 3;
export const INET_DIAG_BC_D_GE = 4;
export const INET_DIAG_BC_D_LE = 5;
/** Port equality ops: newer kernels only (4.16, by our reading); an older kernel refuses them with EINVAL. */
export const INET_DIAG_BC_S_EQ = 11;
export const INET_DIAG_BC_D_EQ = 12;

const OP_LEN = 4;
/** nlattr length is a u16 and includes its 4-byte header; JMP's `no` is a u16 as well. */
export const MAX_BYTECODE_LEN = 0xffff - 4;

export interface PortFilter {
  /** Sockets whose local (source) port is one of these. */
  readonly localPorts: readonly number[];
  /** Sockets whose remote (destination) port is one of these. */
  readonly remotePorts: readonly number[];
}

export interface PortFilterOptions {
  /**
   * 'eq' (default): one S_EQ/D_EQ per port (8 bytes). 'range': S_GE then S_LE on the same port
   * (16 bytes), for kernels that lack the equality ops (the kernel answers EINVAL to those).
   */
  readonly equality?: 'eq' | 'range';
}

/** Program bytes per port, including the JMP that follows it. */
export function bytesPerPort(equality: 'eq' | 'range' = 'eq'): number {
  return (equality === 'eq' ? 8 : 16) + OP_LEN;
}

/**
 * The bytecode program for `filter` (without the attribute header). Ports are deduplicated
 * within each side. Throws RangeError with a one-line reason for an empty filter, a port outside
 * 0..65535 or a program too long for the kernel's u16 offsets.
 */
export function encodePortFilter(filter: PortFilter, options: PortFilterOptions = {}): Uint8Array {
  const equality = options.equality ?? 'eq';
  const local = uniquePorts(filter.localPorts, 'local');
  const remote = uniquePorts(filter.remotePorts, 'remote');
  const count = local.length + remote.length;
  if (count === 0) throw new RangeError('inet_diag bytecode: the port filter is empty (no local and no remote port); dump without a filter or not at all');
  const predicateLen = equality === 'eq' ? 8 : 16;
  const total = count * (predicateLen + OP_LEN) - OP_LEN;
  if (total > MAX_BYTECODE_LEN) {
    throw new RangeError(`inet_diag bytecode: ${count} ports need ${total} bytes, more than the kernel's limit of ${MAX_BYTECODE_LEN}`);
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const emitOp = (code: number, yes: number, no: number): void => {
    bytes[at] = code;
    bytes[at + 1] = yes;
    view.setUint16(at + 2, no, LITTLE_ENDIAN);
    at += OP_LEN;
  };
  const ports = [...local.map((p) => [p, 0] as const), ...remote.map((p) => [p, 1] as const)];
  for (let i = 0; i < ports.length; i++) {
    const [port, side] = ports[i]!;
    if (equality === 'eq') {
      // Fail: 8 (this op and its port) + 4 (the JMP) = 12, onto the next predicate.
      emitOp(side === 0 ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ, 8, 12);
      emitOp(INET_DIAG_BC_NOP, 0, port);
    } else {
      // port >= p AND port <= p: the GE's failure jumps over the LE pair as well (8 + 8 + 4).
      emitOp(side === 0 ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE, 8, 20);
      emitOp(INET_DIAG_BC_NOP, 0, port);
      emitOp(side === 0 ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE, 8, 12);
      emitOp(INET_DIAG_BC_NOP, 0, port);
    }
    if (i < ports.length - 1) {
      const rest = total - at - OP_LEN;
      emitOp(INET_DIAG_BC_JMP, OP_LEN, rest + OP_LEN);
    }
  }
  return bytes;
}

/** The INET_DIAG_REQ_BYTECODE attribute (nlattr header + program, padded to 4 bytes) for a request. */
export function encodeBytecodeAttribute(program: Uint8Array): Uint8Array {
  if (program.length > MAX_BYTECODE_LEN) throw new RangeError(`inet_diag bytecode: ${program.length} bytes exceed ${MAX_BYTECODE_LEN}`);
  const len = 4 + program.length;
  const bytes = new Uint8Array((len + 3) & ~3);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, len, LITTLE_ENDIAN);
  view.setUint16(2, INET_DIAG_REQ_BYTECODE, LITTLE_ENDIAN);
  bytes.set(program, 4);
  return bytes;
}

function uniquePorts(ports: readonly number[], side: string): number[] {
  const seen = new Set<number>();
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`inet_diag bytecode: ${side} port ${String(port)} is not an integer in 0..65535`);
    }
    seen.add(port);
  }
  return [...seen];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
