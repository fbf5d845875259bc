import { describe, expect, it } from 'vitest';
import { PORT_TABLE_LENGTH, PortTablePool } from '../../src/aggregate/port-table-pool.js';
import { SocketAggregate } from '../../src/aggregate/socket-aggregate.js';

describe('PortTablePool', () => {
  it('hands a released table out again, zeroed', () => {
    const pool = new PortTablePool();
    const first = pool.acquire();
    expect(first).toHaveLength(PORT_TABLE_LENGTH);
    first[8080 * 12 + 1] = 7;
    pool.release(first);
    const again = pool.acquire();
    expect(again).toBe(first);
    expect(again[8080 * 12 + 1]).toBe(0);
  });

  it('gives overlapping users distinct tables, and keeps at most two spares', () => {
    const pool = new PortTablePool();
    const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(new Set([a, b, c]).size).toBe(3);
    [a, b, c].forEach((table) => pool.release(table));
    const reused = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(reused.filter((table) => table === a || table === b || table === c)).toHaveLength(2);
  });

  it('lets successive aggregates share tables without carrying counts over', () => {
    const pool = new PortTablePool();
    const record = { family: 0 as const, state: 1, localPort: 8080, remotePort: 40000, rxQueue: 0, txQueue: 0, timer: 0, retransmits: 0, probes: 0, inode: 1, cgroupId: 0, remoteEndpointKey: () => 1 };
    const first = new SocketAggregate({ ephemeralRange: null, remotePorts: new Set([40000]), tables: pool });
    first.add(record);
    first.release();
    const second = new SocketAggregate({ ephemeralRange: null, remotePorts: new Set([40000]), tables: pool });
    expect(second.localPortStates === first.localPortStates || second.localPortStates === first.remotePortStates).toBe(true);
    expect(second.localPortTotal(8080)).toBe(0);
    expect(second.remotePortStates![40000 * 12 + 1]).toBe(0);
  });
});
