import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CgroupTally } from '../../src/aggregate/cgroup-tally.js';
import { reportOwners } from '../../src/collectors/cgroup-report.js';
import type { SocketRecord } from '../../src/kernel/socket-record.js';
import type { OwnerLabels } from '../../src/owners/owner-labels.js';
import { parseExposition, select, valueOf } from '../helpers/exposition.js';

const ESTABLISHED = 1;
const TIME_WAIT = 6;
const CLOSE_WAIT = 8;
const LISTEN = 10;

function record(fields: Partial<SocketRecord>): SocketRecord {
  return { family: 0, state: ESTABLISHED, localPort: 40000, remotePort: 80, rxQueue: 0, txQueue: 0, timer: 0, retransmits: 0, probes: 0, inode: 1, cgroupId: 0, remoteEndpointKey: () => 0, ...fields };
}

function feed(tally: CgroupTally, times: number, fields: Partial<SocketRecord>): void {
  for (let i = 0; i < times; i++) tally.add(record(fields));
}

async function render(tally: CgroupTally, labels: Map<number, OwnerLabels | undefined>, top = 64, maxPorts = 64) {
  const registry = new Registry();
  reportOwners(registry, tally, labels, { top, maxPorts }, true);
  return parseExposition(await registry.metrics());
}

const EMPTY = { namespace: '', pod: '', uid: '', container: '', unit: '' };

describe('the cgroup owner report', () => {
  it('keeps the top owners, sums the rest into unit="other", and puts sockets without a nameable cgroup in unit="unknown"', async () => {
    const tally = new CgroupTally();
    const labels = new Map<number, OwnerLabels | undefined>();
    ['a', 'b', 'c', 'd', 'e'].forEach((name, i) => {
      labels.set(100 + i, { unit: `${name}.service` });
      feed(tally, 10 - i, { cgroupId: 100 + i });
    });
    feed(tally, 3, { cgroupId: 999 }); // an id no walk found (a removed cgroup)
    feed(tally, 4, { state: TIME_WAIT, inode: 0 }); // no id at all
    labels.set(999, undefined);
    const samples = await render(tally, labels, 2);
    const owners = new Set(select(samples, 'tcpstate_owner_sockets').map((s) => s.labels.unit));
    expect([...owners].sort()).toEqual(['a.service', 'b.service', 'other', 'unknown']);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...EMPTY, unit: 'other', state: 'established' })).toBe(8 + 7 + 6);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...EMPTY, unit: 'unknown', state: 'established' })).toBe(3);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...EMPTY, unit: 'unknown', state: 'time_wait' })).toBe(4);
    // Every series carries every owner label, and all 11 states per owner.
    expect(select(samples, 'tcpstate_owner_sockets').every((s) => Object.keys(s.labels).length === 6)).toBe(true);
    expect(select(samples, 'tcpstate_owner_sockets')).toHaveLength(4 * 11);
  });

  it('two cgroups that name one owner are one series', async () => {
    const tally = new CgroupTally();
    feed(tally, 2, { cgroupId: 1 });
    feed(tally, 3, { cgroupId: 2 });
    const samples = await render(tally, new Map([[1, { unit: 'x.service' }], [2, { unit: 'x.service' }]]));
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...EMPTY, unit: 'x.service', state: 'established' })).toBe(5);
  });

  it('LISTEN, CLOSE_WAIT and the accept queue per owner and listening port, capped, then port="other" per owner', async () => {
    const tally = new CgroupTally();
    const labels = new Map<number, OwnerLabels | undefined>([[1, { container: 'app' }], [2, { unit: 'db.service' }]]);
    for (const port of [8000, 8001, 8002]) feed(tally, 1, { cgroupId: 1, state: LISTEN, localPort: port, rxQueue: 2, txQueue: 128 });
    feed(tally, 5, { cgroupId: 1, state: CLOSE_WAIT, localPort: 8000 });
    feed(tally, 1, { cgroupId: 2, state: LISTEN, localPort: 5432, txQueue: 100 });
    feed(tally, 7, { cgroupId: 2, state: CLOSE_WAIT, localPort: 51000 }); // client side: no port series
    const samples = await render(tally, labels, 64, 2);
    const app = { ...EMPTY, container: 'app' };
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...app, port: '8000', state: 'close_wait' })).toBe(5);
    expect(valueOf(samples, 'tcpstate_owner_listen_queue_length', { ...app, port: '8000' })).toBe(2);
    // Two pairs kept (app:8000 with 5 + 2 + 1, then by owner and port app:8001); the rest folded per owner.
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...app, port: '8001', state: 'listen' })).toBe(1);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...app, port: 'other', state: 'listen' })).toBe(1);
    expect(valueOf(samples, 'tcpstate_owner_listen_queue_max', { ...app, port: 'other' })).toBe(128);
    expect(valueOf(samples, 'tcpstate_owner_port_sockets', { ...EMPTY, unit: 'db.service', port: 'other', state: 'listen' })).toBe(1);
    expect(select(samples, 'tcpstate_owner_port_sockets', { port: '51000' })).toEqual([]);
    expect(valueOf(samples, 'tcpstate_owner_sockets', { ...EMPTY, unit: 'db.service', state: 'close_wait' })).toBe(7);
    // Worst case: max-ports pairs, plus one port="other" per owner.
    expect(new Set(select(samples, 'tcpstate_owner_port_sockets').map((s) => `${s.labels.container}${s.labels.unit}:${s.labels.port}`)).size).toBe(4);
  });

  it('counts sockets with and without an id, so a kernel that sends none can be told from one that does', () => {
    const tally = new CgroupTally();
    feed(tally, 3, { cgroupId: 0 });
    feed(tally, 2, { cgroupId: 0, inode: 0, state: TIME_WAIT });
    expect({ full: tally.fullSockets, withId: tally.withId }).toEqual({ full: 3, withId: 0 });
    feed(tally, 200, { cgroupId: 7 });
    expect(tally.ids).toEqual([0, 7]);
    expect(tally.total(1)).toBe(200);
  });

  it('grows past its first 64 rows without losing counts', () => {
    const tally = new CgroupTally();
    for (let id = 1; id <= 300; id++) feed(tally, id % 3 + 1, { cgroupId: id });
    for (let row = 1; row <= 300; row++) expect(tally.total(row)).toBe((tally.ids[row]! % 3) + 1);
  });
});
