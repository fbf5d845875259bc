import { createNetlinkSource } from './netlink.js';
import type { SocketSource } from './socket-source.js';

/**
 * Opens the netlink source for select.ts. Throws NetlinkUnavailableError (error.name) when
 * netlink cannot be used here: koffi/libc cannot load, socket(AF_NETLINK) is refused (seccomp,
 * LSM, no sock_diag), or the kernel has no TCP inet_diag handler.
 */
export function openNetlink(): SocketSource {
  return createNetlinkSource();
}
