/**
 * The fast socket source: a NETLINK_SOCK_DIAG inet_diag dump of TCP over AF_INET and AF_INET6,
 * through libc with koffi. See netlink-parse.ts for the wire format.
 */
import type { Family } from '../tcp.js';
import type { ScanResult, SocketSink, SocketSource } from './socket-source.js';
import {
  closeFd,
  ERRNO,
  kernelHasIpv6,
  loadLibc,
  NetlinkUnavailableError,
  openDiagSocket,
  recvDatagram,
  sendAll,
  SyscallError,
} from './netlink-ffi.js';
import {
  AF_INET,
  AF_INET6,
  encodeDumpRequest,
  InetDiagRecord,
  MIN_RECV_BUFFER,
  NetlinkKernelError,
  newDumpProgress,
  parseDumpChunk,
} from './netlink-parse.js';

export { NetlinkUnavailableError } from './netlink-ffi.js';
export { NetlinkKernelError, NetlinkParseError } from './netlink-parse.js';

export interface NetlinkSourceOptions {
  /** Yield to the event loop after this much continuous work (ms). */
  yieldEveryMs?: number;
  /** Receive buffer size; at least one skb of the dump (32 KiB). */
  bufferBytes?: number;
  /** A single recv() waiting longer than this fails the scan (ms). */
  receiveTimeoutMs?: number;
  /** The whole scan failing after this long (ms). */
  scanTimeoutMs?: number;
}

const DEFAULTS = {
  yieldEveryMs: 8,
  bufferBytes: 65536,
  receiveTimeoutMs: 5000,
  scanTimeoutMs: 60_000,
} as const;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Kernel answers to a dump request that mean "this family is not here". */
function familyMissing(errno: number): boolean {
  return errno === ERRNO.ENOENT || errno === ERRNO.EAFNOSUPPORT || errno === ERRNO.EOPNOTSUPP || errno === ERRNO.EINVAL;
}

export class NetlinkSource implements SocketSource {
  readonly name = 'netlink' as const;
  /** Families the kernel answers for, decided when the source was created. */
  readonly families: readonly Family[];
  private readonly options: Required<NetlinkSourceOptions>;
  private readonly buffer: Uint8Array;
  private readonly words: Uint32Array;
  private readonly record = new InetDiagRecord();
  private seq = Math.floor(Math.random() * 0x7fffffff);

  constructor(families: readonly Family[], options: NetlinkSourceOptions = {}) {
    this.families = families;
    this.options = { ...DEFAULTS, ...options };
    const size = Math.max(MIN_RECV_BUFFER, this.options.bufferBytes) & ~3;
    const backing = new ArrayBuffer(size);
    this.buffer = new Uint8Array(backing);
    this.words = new Uint32Array(backing);
  }

  async scan(sink: SocketSink): Promise<ScanResult> {
    const c = loadLibc();
    const deadline = performance.now() + this.options.scanTimeoutMs;
    const families: Family[] = [];
    for (const family of this.families) {
      await this.dumpFamily(c, family, sink, deadline);
      families.push(family);
    }
    return { families, listenQueueLimitKnown: true };
  }

  private async dumpFamily(c: ReturnType<typeof loadLibc>, family: Family, sink: SocketSink, deadline: number): Promise<void> {
    const fd = openDiagSocket(c, this.options.receiveTimeoutMs);
    try {
      const seq = (this.seq = (this.seq + 1) & 0x7fffffff);
      sendAll(c, fd, encodeDumpRequest(family === 1 ? AF_INET6 : AF_INET, seq));
      const progress = newDumpProgress();
      const buffer = this.buffer;
      const words = this.words;
      const record = this.record;
      const yieldEvery = this.options.yieldEveryMs;
      let sliceStart = performance.now();
      for (;;) {
        const n = recvDatagram(c, fd, buffer);
        if (n === 0) throw new Error('netlink: the sock_diag socket returned end-of-file in the middle of a dump');
        parseDumpChunk(buffer, words, 0, n, seq, record, sink, progress);
        if (progress.done) return;
        const now = performance.now();
        if (now - sliceStart >= yieldEvery) {
          if (now > deadline) throw new Error(`netlink: the sock_diag dump took longer than ${this.options.scanTimeoutMs} ms`);
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    } catch (error) {
      if (error instanceof NetlinkKernelError) {
        throw new NetlinkKernelError(error.errno, `while dumping ${family === 1 ? 'ipv6' : 'ipv4'} TCP sockets`);
      }
      throw error;
    } finally {
      closeFd(c, fd);
    }
  }
}

/**
 * Opens the netlink path and checks, with a dump that matches no state (the kernel resolves the
 * inet_diag handler for TCP, then walks nothing), that the kernel answers for AF_INET and
 * whether it does for AF_INET6. Throws NetlinkUnavailableError when netlink cannot be used:
 * koffi or libc cannot be loaded, socket() is refused (EPERM/EACCES under seccomp or an LSM,
 * EAFNOSUPPORT/EPROTONOSUPPORT without netlink or sock_diag), or the kernel has no TCP
 * inet_diag handler.
 */
export function createNetlinkSource(options: NetlinkSourceOptions = {}): NetlinkSource {
  const c = loadLibc();
  const timeout = options.receiveTimeoutMs ?? DEFAULTS.receiveTimeoutMs;
  const probe = (family: number): number => {
    let fd: number;
    try {
      fd = openDiagSocket(c, timeout);
    } catch (error) {
      const e = error as SyscallError;
      throw new NetlinkUnavailableError(`netlink unavailable: ${e.message}`, e.errno);
    }
    try {
      sendAll(c, fd, encodeDumpRequest(family, 1, 0));
      const buffer = new Uint8Array(MIN_RECV_BUFFER);
      const words = new Uint32Array(buffer.buffer);
      const progress = newDumpProgress();
      const sink = { add: () => undefined };
      for (let i = 0; i < 16 && !progress.done; i++) {
        const n = recvDatagram(c, fd, buffer);
        if (n === 0) break;
        parseDumpChunk(buffer, words, 0, n, 1, new InetDiagRecord(), sink, progress);
      }
      if (!progress.done) return -1;
      return 0;
    } catch (error) {
      if (error instanceof NetlinkKernelError) return error.errno;
      if (error instanceof SyscallError) return error.errno;
      return -1;
    } finally {
      closeFd(c, fd);
    }
  };

  const v4 = probe(AF_INET);
  if (v4 !== 0) {
    const why = v4 < 0 ? 'no complete answer' : `error ${v4}`;
    throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET TCP sock_diag dump (${why})`, v4 > 0 ? v4 : undefined);
  }
  const families: Family[] = [0];
  if (kernelHasIpv6(c)) {
    const v6 = probe(AF_INET6);
    if (v6 === 0) families.push(1);
    else if (v6 > 0 && !familyMissing(v6)) {
      throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET6 TCP sock_diag dump (error ${v6})`, v6);
    }
  }
  return new NetlinkSource(families, options);
}
