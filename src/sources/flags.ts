import { choiceFlag } from '../config/flag.js';

export const SOCKET_SOURCE_CHOICES = ['auto', 'netlink', 'procfs'] as const;
export type SocketSourceChoice = (typeof SOCKET_SOURCE_CHOICES)[number];

/** Named under the sockets collector, where users look for it, but it chooses the scan stage's source. */
export const SOURCE_FLAGS = {
  choice: choiceFlag('collector.sockets.source', { help: 'where the socket table comes from', choices: SOCKET_SOURCE_CHOICES, default: 'auto', example: 'procfs' }),
};
