/** Which {port, direction} series the tcpinfo collector keeps, and when the kernel may filter. */
import { describe, expect, it } from 'vitest';
import type { SocketRecord } from '../../src/kernel/socket-record.js';
import { TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT } from '../../src/kernel/tcp.js';
import { ServerPortTally, watchedPorts } from '../../src/collectors/tcpinfo-ports.js';

function socket(state: number, localPort: number, remotePort = 0): SocketRecord {
  return { family: 0, state, localPort, remotePort, rxQueue: 0, txQueue: 0, timer: 0, retransmits: 0, probes: 0, inode: 0, cgroupId: 0, remoteEndpointKey: () => 0 };
}

function tallyOf(sockets: readonly SocketRecord[]): ServerPortTally {
  const tally = new ServerPortTally();
  for (const s of sockets) tally.add(s);
  return tally;
}

describe('the tcpinfo collector\'s watched ports', () => {
  // Listeners on 80 (3 sockets in all), 443 (2) and 8080 (1); 5432 is asked for but has no listener.
  const table = [
    socket(TCP_LISTEN, 80),
    socket(TCP_ESTABLISHED, 80, 40000),
    socket(TCP_TIME_WAIT, 80, 40001),
    socket(TCP_LISTEN, 443),
    socket(TCP_ESTABLISHED, 443, 40002),
    socket(TCP_LISTEN, 8080),
    socket(TCP_ESTABLISHED, 40003, 5432),
  ];

  it('under the cap: every server port has its own series, then the remote ports, and the kernel may filter', () => {
    const watched = watchedPorts(tallyOf(table).select([9000], 8), [6379, 5432, 5432]);
    expect(watched.series).toEqual([
      { port: '80', direction: 'local' },
      { port: '443', direction: 'local' },
      { port: '8080', direction: 'local' },
      { port: '9000', direction: 'local' },
      { port: '5432', direction: 'remote' },
      { port: '6379', direction: 'remote' },
    ]);
    expect([watched.localSlot[80], watched.localSlot[9000], watched.localSlot[40003], watched.remoteSlot[5432], watched.remoteSlot[80]]).toEqual([0, 3, -1, 4, -1]);
    expect(watched.filter).toEqual({ localPorts: [80, 443, 8080, 9000], remotePorts: [5432, 6379] });
  });

  it('over the cap: the busiest ports are kept (as tcpstate_port_sockets keeps them), the rest share port="other", and the dump goes unfiltered', () => {
    const watched = watchedPorts(tallyOf(table).select([], 1), []);
    expect(watched.series).toEqual([
      { port: '80', direction: 'local' },
      { port: 'other', direction: 'local' },
    ]);
    expect([watched.localSlot[80], watched.localSlot[443], watched.localSlot[8080]]).toEqual([0, 1, 1]);
    expect(watched.filter).toBeUndefined();
  });

  it('nothing listening and nothing asked: no series, no filter', () => {
    const watched = watchedPorts(tallyOf([socket(TCP_ESTABLISHED, 40000, 80)]).select([], 64), []);
    expect(watched.series).toEqual([]);
    expect(watched.filter).toBeUndefined();
  });

  it('reset() forgets the previous scrape\'s listeners', () => {
    const tally = tallyOf(table);
    tally.reset();
    expect(tally.listeningPorts()).toEqual([]);
    expect(tally.sockets[80]).toBe(0);
  });
});
