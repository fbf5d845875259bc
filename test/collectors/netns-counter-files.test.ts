/**
 * The kept counter files against the kernel: this process's own /proc/self/net, real loopback
 * connections in between, and the process's own descriptor table.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NamespaceCounterFiles } from '../../src/collectors/netns-counter-files.js';
import { COUNTER_SLOTS, counterOf } from '../../src/collectors/netns-counters.js';

const OWN_INODE = Number(/^net:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/net'))![1]);
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('NamespaceCounterFiles', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connectOnce = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end());
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });

  it('reads fresh values through descriptors kept from one read to the next, and retain() closes them', async () => {
    const files = new NamespaceCounterFiles();
    const before = openFds();
    let asked = 0;
    const slots = new Float64Array(COUNTER_SLOTS);
    expect(files.read(OWN_INODE, '/proc/self/net', () => ++asked > 0, slots, 0)).toBe(true);
    expect(asked).toBe(1);
    expect(openFds()).toBeGreaterThanOrEqual(before + 3);
    const opensBefore = counterOf(slots, 'tcpstate_active_opens_total')!;

    for (let i = 0; i < 3; i++) await connectOnce();
    const fdsKept = openFds();
    expect(files.read(OWN_INODE, '/proc/self/net', () => ++asked > 0, slots, 0)).toBe(true);
    // Kept: no new open, and the still-there check is not asked again.
    expect(openFds()).toBe(fdsKept);
    expect(asked).toBe(1);
    const opensAfter = counterOf(slots, 'tcpstate_active_opens_total')!;
    expect(opensAfter - opensBefore).toBeGreaterThanOrEqual(3);
    // netstat's fields too: every counter the kernel has, read.
    expect(counterOf(slots, 'tcpstate_listen_overflows_total')).toBeGreaterThanOrEqual(0);

    files.retain(new Set());
    expect(files.openNamespaces).toBe(0);
    expect(openFds()).toBe(before);
  });

  it('keeps nothing open when the pid left its namespace before the files were opened', () => {
    const files = new NamespaceCounterFiles();
    const before = openFds();
    expect(files.read(OWN_INODE, '/proc/self/net', () => false, new Float64Array(COUNTER_SLOTS), 0)).toBe(false);
    expect(files.openNamespaces).toBe(0);
    expect(openFds()).toBe(before);
  });

  it('gives undefined for a process that does not exist', () => {
    const files = new NamespaceCounterFiles();
    expect(files.read(1, '/proc/0/net', () => true, new Float64Array(COUNTER_SLOTS), 0)).toBe(false);
  });
});
