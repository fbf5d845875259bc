/**
 * The FFI boundary of the netlink source: a NETLINK_SOCK_DIAG socket driven through libc with
 * koffi (kernel/libc.ts). Everything here is synchronous and cheap except
 * `recv`, which is where the kernel does the work of a dump.
 */
import koffi from 'koffi';
import { libcFunctions } from '../kernel/libc.js';
import { ERRNO } from '../kernel/errno.js';
import { NetlinkUnavailableError, SyscallError } from './errors.js';

const AF_NETLINK = 16;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOL_SOCKET = 1;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;

/** What recvDatagram returns when asked not to wait and nothing is queued. */
export const NOTHING_QUEUED = -1;

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  send: (fd: number, buf: Uint8Array, len: number, flags: number) => number;
  recv: (fd: number, buf: Uint8Array, len: number, flags: number) => number;
  close: (fd: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Uint8Array, len: number) => number;
  gettid: () => number;
  getpriority: (which: number, who: number) => number;
  setpriority: (which: number, who: number, prio: number) => number;
  setns: (fd: number, nstype: number) => number;
}

let libc: Libc | null = null;
let loadError: Error | null = null;

/** libc through koffi, loaded once. Throws NetlinkUnavailableError if either cannot be loaded. */
export function loadLibc(): Libc {
  if (libc !== null) return libc;
  if (loadError !== null) throw loadError;
  try {
    const loaded = libcFunctions<Libc>({
      socket: 'int socket(int domain, int type, int protocol)',
      send: 'intptr_t send(int fd, const void *buf, size_t len, int flags)',
      // Plain `void *`, not _Out_: koffi then hands the kernel the typed array's own memory.
      recv: 'intptr_t recv(int fd, void *buf, size_t len, int flags)',
      close: 'int close(int fd)',
      setsockopt: 'int setsockopt(int fd, int level, int name, const void *value, uint32_t len)',
      gettid: 'int gettid(void)',
      getpriority: 'int getpriority(int which, uint32_t who)',
      setpriority: 'int setpriority(int which, uint32_t who, int prio)',
      setns: 'int setns(int fd, int nstype)',
    });
    libc = loaded;
    return loaded;
  } catch (error) {
    loadError = new NetlinkUnavailableError(`netlink: cannot load libc through koffi: ${(error as Error).message}`);
    throw loadError;
  }
}

function errno(): number {
  return koffi.errno();
}

/** socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_SOCK_DIAG). Throws SyscallError. */
export function openDiagSocket(c: Libc, receiveTimeoutMs: number): number {
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) throw new SyscallError('socket', errno(), 'netlink: cannot open a NETLINK_SOCK_DIAG socket');
  setReceiveTimeout(c, fd, receiveTimeoutMs);
  return fd;
}

/** SO_RCVTIMEO, so that a kernel that never answers cannot hang a scrape. Best effort. */
function setReceiveTimeout(c: Libc, fd: number, ms: number): void {
  // struct timeval { long tv_sec; long tv_usec; } on 64-bit Linux; SO_RCVTIMEO(_OLD) is 20 on
  // the asm-generic ABI (x86, arm, arm64, riscv, s390) and 18 on powerpc.
  const option = process.arch === 'ppc64' ? 18 : process.arch === 'x64' || process.arch === 'arm64' || process.arch === 'riscv64' || process.arch === 's390x' ? 20 : 0;
  if (option === 0) return;
  const tv = new Uint8Array(16);
  const view = new DataView(tv.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  view.setBigInt64(0, BigInt(Math.floor(ms / 1000)), le);
  view.setBigInt64(8, BigInt((ms % 1000) * 1000), le);
  c.setsockopt(fd, SOL_SOCKET, option, tv, 16);
}

export function sendAll(c: Libc, fd: number, bytes: Uint8Array): void {
  for (let attempt = 0; attempt < 100; attempt++) {
    const n = c.send(fd, bytes, bytes.length, 0);
    if (n === bytes.length) return;
    if (n < 0) {
      const e = errno();
      if (e === ERRNO.EINTR) continue;
      throw new SyscallError('send', e, 'netlink: cannot send the sock_diag request');
    }
    throw new Error(`netlink: send() sent ${n} of ${bytes.length} bytes of the sock_diag request`);
  }
  throw new Error('netlink: send() interrupted 100 times in a row');
}

/**
 * One datagram (one skb of the dump) into buf[0, len). Retries EINTR. Returns the datagram's
 * length; throws if it did not fit (MSG_TRUNC reports the real length), on EAGAIN (the receive
 * timeout expired) and on any other error. With `wait: false` it returns NOTHING_QUEUED at once
 * when no datagram is queued.
 */
export function recvDatagram(c: Libc, fd: number, buf: Uint8Array, wait = true): number {
  const flags = wait ? MSG_TRUNC : MSG_TRUNC | MSG_DONTWAIT;
  for (let attempt = 0; attempt < 100; attempt++) {
    const n = c.recv(fd, buf, buf.length, flags);
    if (n >= 0) {
      if (n > buf.length) throw new Error(`netlink: a ${n}-byte message does not fit the ${buf.length}-byte receive buffer`);
      return n;
    }
    const e = errno();
    if (e === ERRNO.EINTR) continue;
    if (e === ERRNO.EAGAIN) {
      if (!wait) return NOTHING_QUEUED;
      throw new Error('netlink: the kernel did not answer the sock_diag dump in time (recv timed out)');
    }
    throw new SyscallError('recv', e, 'netlink: cannot read the sock_diag dump');
  }
  throw new Error('netlink: recv() interrupted 100 times in a row');
}

const CLONE_NEWNET = 0x40000000;

/**
 * setns(fd, CLONE_NEWNET): moves the calling thread, and only it, into the network namespace `fd`
 * refers to. Needs CAP_SYS_ADMIN. Throws SyscallError.
 */
export function enterNetworkNamespace(c: Libc, fd: number, what: string): void {
  if (c.setns(fd, CLONE_NEWNET) !== 0) throw new SyscallError('setns', errno(), what);
}

export function closeFd(c: Libc, fd: number): void {
  c.close(fd);
}

/**
 * Makes the calling thread `delta` nice levels nicer (Linux: a thread is a task, and
 * PRIO_PROCESS with its tid changes only that thread). The dump thread calls this so that, on a
 * busy machine, the exporter's event loop always wins the CPU over its own background dump.
 * Best effort: returns false if it could not.
 */
export function lowerThreadPriority(c: Libc, delta: number): boolean {
  const PRIO_PROCESS = 0;
  try {
    const tid = c.gettid();
    const current = c.getpriority(PRIO_PROCESS, tid); // -20..19 (no error value we need to tell apart here)
    return c.setpriority(PRIO_PROCESS, tid, Math.min(19, current + delta)) === 0;
  } catch {
    return false;
  }
}

/** Whether the kernel can make AF_INET6 sockets (false when IPv6 is compiled out or disabled). */
export function kernelHasIpv6(c: Libc): boolean {
  const fd = c.socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    c.close(fd);
    return true;
  }
  return errno() !== ERRNO.EAFNOSUPPORT;
}
