import type { SocketRecord, SocketSink } from '../../src/kernel/socket-record.js';

/** A copy of one record, with its remote endpoint key resolved. */
export type SeenSocket = Omit<SocketRecord, 'remoteEndpointKey'> & { key: number | string };

/**
 * Keeps a copy of every record a source hands over. Sources reuse one record object, so a test
 * that wants to look at sockets after the scan must copy them as they arrive.
 */
export class RecordingSink implements SocketSink {
  readonly seen: SeenSocket[] = [];

  add(s: SocketRecord): void {
    const { family, state, localPort, remotePort, rxQueue, txQueue, timer, retransmits, probes, inode, cgroupId } = s;
    this.seen.push({ family, state, localPort, remotePort, rxQueue, txQueue, timer, retransmits, probes, inode, cgroupId, key: s.remoteEndpointKey() });
  }
}
