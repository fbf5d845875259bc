import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SocketAggregate } from '../../src/aggregate/socket-aggregate.js';
import { ProcParseError } from '../../src/errors.js';
import { NetTcpParser } from '../../src/procfs/net-tcp.js';
import type { Family } from '../../src/kernel/tcp.js';
import { RecordingSink, type SeenSocket } from '../helpers/recording-sink.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/proc/net/${name}`, import.meta.url));

function parse(text: Buffer | string, family: Family = 0, chunkSize = Infinity): SeenSocket[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const recorder = new RecordingSink();
  const parser = new NetTcpParser('/proc/net/tcp', family, recorder);
  for (let i = 0; i < bytes.length; i += Math.min(chunkSize, bytes.length)) parser.push(bytes.subarray(i, Math.min(bytes.length, i + chunkSize)));
  parser.finish();
  return recorder.seen;
}

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('NetTcpParser on a real /proc/net/tcp capture', () => {
  const records = parse(fixture('tcp'));

  it('reads every socket line', () => {
    const lines = fixture('tcp').toString().trim().split('\n').length - 1;
    expect(records).toHaveLength(lines);
    expect(lines).toBeGreaterThan(30);
  });

  it('decodes ports, states and queues as ss shows them', () => {
    const listener = records.find((r) => r.state === 0x0a && r.localPort === 8084)!;
    // The never-accepting listener with backlog 4 holds 3 completed connections.
    expect(listener.rxQueue).toBe(3);
    const reader = records.filter((r) => r.state === 1 && r.remotePort === 8080);
    expect(reader).toHaveLength(5);
    expect(reader.every((r) => r.rxQueue === 100)).toBe(true);
    expect(records.filter((r) => r.state === 8 && r.localPort === 8082)).toHaveLength(4);
  });

  it('sees request sockets, TIME_WAIT without inodes, and timers', () => {
    expect(records.filter((r) => r.state === 3 && r.localPort === 8083)).toHaveLength(2);
    const timeWait = records.filter((r) => r.state === 6);
    expect(timeWait).toHaveLength(3);
    expect(timeWait.every((r) => r.inode === 0 && r.timer === 3)).toBe(true);
    expect(records.filter((r) => r.timer === 2 && r.probes > 0)).toHaveLength(4);
    expect(records.filter((r) => r.state === 0x0a).every((r) => r.inode > 0)).toBe(true);
  });

  it('gives the same records whatever the chunk size', () => {
    expect(parse(fixture('tcp'), 0, 1)).toEqual(records);
    expect(parse(fixture('tcp'), 0, 149)).toEqual(records);
  });

  it('keys remote endpoints: equal endpoints equal keys', () => {
    const toListener = records.filter((r) => r.remotePort === 8080);
    expect(new Set(toListener.map((r) => r.key)).size).toBe(1);
    // The key netlink gives for 127.0.0.1:8080: the address in network order, then the port.
    expect(toListener[0]!.key).toBe(0x7f000001 * 65536 + 8080);
  });
});

describe('NetTcpParser on a real /proc/net/tcp6 capture', () => {
  it('reads IPv6 lines', () => {
    const records = parse(fixture('tcp6'), 1);
    expect(records.filter((r) => r.state === 0x0a && r.localPort === 8443)).toHaveLength(1);
    expect(records.filter((r) => r.state === 1)).toHaveLength(6);
    // ::1 printed as four host-order words; the key is netlink's: 32 hex digits in network order.
    expect(records.find((r) => r.state === 1 && r.remotePort === 8443)!.key).toBe('00000000000000000000000000000001:8443');
  });

  it('keys an IPv4-mapped address like the IPv4 address, as both draw on one port space', () => {
    const mapped = `${HEADER}   0: 0000000000000000FFFF00000100007F:9C40 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 20 4 30 10 -1\n`;
    const plain = `${HEADER}   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 20 4 30 10 -1\n`;
    expect(parse(mapped, 1)[0]!.key).toBe(parse(plain, 0)[0]!.key);
  });
});

describe('NetTcpParser on broken input', () => {
  const good = fixture('tcp').toString('latin1');
  const lines = good.split('\n');

  function errorFor(text: string, family: Family = 0): ProcParseError {
    try {
      parse(text, family);
    } catch (error) {
      expect(error).toBeInstanceOf(ProcParseError);
      return error as ProcParseError;
    }
    throw new Error('expected a parse error');
  }

  it('names the file, line and field of a corrupt state', () => {
    const broken = [...lines];
    broken[3] = broken[3]!.replace(/^(\s*\d+: \S+ \S+ )../, '$1ZZ');
    const error = errorFor(broken.join('\n'));
    expect(error.message).toBe('/proc/net/tcp:4: field st: not a hex number');
    expect(error.line).toBe(4);
  });

  it('rejects a state number the kernel does not have', () => {
    const broken = [...lines];
    broken[2] = broken[2]!.replace(/^(\s*\d+: \S+ \S+ )../, '$1FF');
    expect(errorFor(broken.join('\n')).message).toBe('/proc/net/tcp:3: field st: unknown TCP state 0xff');
  });

  it('rejects a truncated line', () => {
    const error = errorFor(`${HEADER}   0: 0100007F:1F90 00000000:0000 0A 00000000:0000`);
    expect(error.field).toBe('rx_queue');
    expect(error.message).toContain('line ends early');
  });

  it('rejects an IPv4-width address in tcp6', () => {
    expect(errorFor(lines.slice(0, 2).join('\n'), 1).field).toBe('local_address');
  });

  it('rejects a file without the header line, and an empty file', () => {
    expect(errorFor(lines.slice(1).join('\n')).message).toContain('missing header line');
    expect(errorFor('').message).toContain('file is empty');
  });

  it('accepts a header-only table (no sockets)', () => {
    expect(parse(HEADER)).toEqual([]);
  });
});

describe('SocketAggregate fed by the parser', () => {
  it('tallies the capture in one pass', () => {
    const aggregate = new SocketAggregate({ ephemeralRange: [32768, 60999], remotePorts: new Set([8080]) });
    const parser = new NetTcpParser('tcp', 0, aggregate);
    parser.push(fixture('tcp'));
    parser.finish();
    expect(aggregate.stateCounts[0 * 12 + 8]).toBe(4); // close_wait
    expect(aggregate.listeningPorts()).toEqual([8080, 8081, 8082, 8083, 8084, 8085]);
    expect(aggregate.listenQueueLength.get(8084)).toBe(3);
    expect(aggregate.keepaliveProbing).toBe(4);
    // 5 readers + 5 server ends on 8080, all ESTABLISHED.
    expect(aggregate.localPortTotal(8080)).toBe(6);
    expect(aggregate.remotePortStates![8080 * 12 + 1]).toBe(5);
    // Every client socket uses an ephemeral port; the busiest destination is the 8080 listener.
    expect(aggregate.busiestDestinationSockets()).toBe(5);
    expect(aggregate.receiveQueueBytes[1]).toBe(500);
    // A FIN takes one sequence number, so each CLOSE_WAIT socket shows one byte unread, as ss does.
    expect(aggregate.receiveQueueBytes[8]).toBe(4);
  });
});
