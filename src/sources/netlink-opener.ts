import type { SocketSource } from './socket-source.js';

/** Placeholder until the netlink source lands: reports netlink as unavailable so auto uses procfs. */
export function openNetlink(): SocketSource {
  const error = new Error('netlink source not built yet');
  error.name = 'NetlinkUnavailableError';
  throw error;
}
