import { errnoName } from '../kernel/errno.js';

/** Netlink cannot be used here at all; the caller should fall back to /proc. */
export class NetlinkUnavailableError extends Error {
  override readonly name = 'NetlinkUnavailableError';
  /** The errno behind the refusal, when there is one. */
  readonly errno: number | undefined;
  constructor(message: string, errno?: number) {
    super(message);
    this.errno = errno;
  }
}

/** A libc call failed with errno. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, errno: number, what: string) {
    super(`${what}: ${syscall}() failed: ${errnoName(errno)}`);
    this.errno = errno;
    this.syscall = syscall;
  }
}

/** An error the kernel reported in the dump (NLMSG_ERROR, or a negative NLMSG_DONE payload). */
export class NetlinkKernelError extends Error {
  override readonly name = 'NetlinkKernelError';
  readonly errno: number;
  constructor(errno: number, context: string) {
    super(`netlink sock_diag: kernel returned error ${errno} (${errnoName(errno)}) ${context}`);
    this.errno = errno;
  }
}

/** The bytes do not form a valid sock_diag reply (truncated message, impossible length). */
export class NetlinkParseError extends Error {
  override readonly name = 'NetlinkParseError';
  constructor(message: string) {
    super(`netlink sock_diag: ${message}`);
  }
}
