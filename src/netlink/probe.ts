/**
 * Finding out, once at start, whether and how netlink sock_diag can be used here.
 */
import { ERRNO, errnoName } from '../kernel/errno.js';
import type { Family } from '../kernel/tcp.js';
import { NetlinkKernelError, NetlinkUnavailableError, SyscallError } from './errors.js';
import { closeFd, kernelHasIpv6, loadLibc, openDiagSocket, recvDatagram, sendAll } from './ffi.js';
import { newDumpProgress, parseDumpChunk } from './parse.js';
import { AF_INET, AF_INET6, AF_UNSPEC, encodeAllFamiliesDumpRequest, encodeDumpRequest, MIN_RECV_BUFFER } from './protocol.js';
import { InetDiagRecord } from './record.js';
import { NETLINK_DEFAULTS, NetlinkSource, type NetlinkSourceOptions } from './source.js';

/** A state mask that matches nothing: the kernel resolves the TCP handler, then walks nothing. */
const NO_STATES = 0;

/** Kernel answers to a dump request that mean "this family is not here". */
function familyMissing(errno: number): boolean {
  return errno === ERRNO.ENOENT || errno === ERRNO.EAFNOSUPPORT || errno === ERRNO.EOPNOTSUPP || errno === ERRNO.EINVAL;
}

/**
 * Opens the netlink path and checks, with a dump that matches no state (the kernel resolves the
 * inet_diag handler for TCP, then walks nothing), that the kernel answers for AF_INET and
 * whether it does for AF_INET6. Throws NetlinkUnavailableError when netlink cannot be used:
 * koffi or libc cannot be loaded, socket() is refused (EPERM/EACCES under seccomp or an LSM,
 * EAFNOSUPPORT/EPROTONOSUPPORT without netlink or sock_diag), or the kernel has no TCP
 * inet_diag handler. IPv6 is left out of `families` when the kernel has no IPv6. It also probes
 * whether one TCPDIAG_GETSOCK dump can replace the two per-family dumps (see
 * encodeAllFamiliesDumpRequest); if not, scans use SOCK_DIAG_BY_FAMILY per family.
 */
export function createNetlinkSource(options: NetlinkSourceOptions = {}): NetlinkSource {
  const c = loadLibc();
  const timeout = options.receiveTimeoutMs ?? NETLINK_DEFAULTS.receiveTimeoutMs;
  /** 0 when the kernel answered a complete (empty) dump, else the errno, or -1 for no answer. */
  const probe = (family: number): number => {
    let fd: number;
    try {
      fd = openDiagSocket(c, timeout);
    } catch (error) {
      const e = error as SyscallError;
      throw new NetlinkUnavailableError(`netlink unavailable: ${e.message}`, e.errno);
    }
    try {
      sendAll(c, fd, family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(1, NO_STATES) : encodeDumpRequest(family, 1, NO_STATES));
      const buffer = new Uint8Array(MIN_RECV_BUFFER);
      const words = new Uint32Array(buffer.buffer);
      const progress = newDumpProgress();
      const sink = { add: (): void => undefined };
      for (let i = 0; i < 16 && !progress.done; i++) {
        const n = recvDatagram(c, fd, buffer);
        if (n === 0) break;
        parseDumpChunk(buffer, words, 0, n, 1, new InetDiagRecord(), sink, progress);
      }
      return progress.done ? 0 : -1;
    } catch (error) {
      if (error instanceof NetlinkKernelError || error instanceof SyscallError) return error.errno;
      return -1;
    } finally {
      closeFd(c, fd);
    }
  };

  const v4 = probe(AF_INET);
  if (v4 !== 0) {
    const why = v4 < 0 ? 'no complete answer' : errnoName(v4);
    throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET TCP sock_diag dump (${why})`, v4 > 0 ? v4 : undefined);
  }
  const families: Family[] = [0];
  if (kernelHasIpv6(c)) {
    const v6 = probe(AF_INET6);
    if (v6 === 0) families.push(1);
    else if (!(v6 > 0 && familyMissing(v6))) {
      throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET6 TCP sock_diag dump (${v6 < 0 ? 'no complete answer' : errnoName(v6)})`, v6 > 0 ? v6 : undefined);
    }
  }
  // One walk for both families, if this kernel still serves the original request type.
  const singleWalk = (options.request ?? NETLINK_DEFAULTS.request) === 'auto' && probe(AF_UNSPEC) === 0;
  return new NetlinkSource(families, options, singleWalk);
}
