import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProcParseError } from '../../src/errors.js';
import { parseSnmp } from '../../src/procfs/snmp.js';
import { parseSockstat } from '../../src/procfs/sockstat.js';
import { parsePageSize, parsePortRange, parseSysctl } from '../../src/procfs/sysctl.js';

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/proc/${path}`, import.meta.url), 'latin1');

function parseError(fn: () => unknown): ProcParseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProcParseError);
    return error as ProcParseError;
  }
  throw new Error('expected a ProcParseError');
}

describe('parseSnmp', () => {
  it('reads /proc/net/snmp and /proc/net/netstat captures', () => {
    const snmp = parseSnmp('snmp', fixture('net/snmp'));
    expect([...snmp.keys()]).toEqual(expect.arrayContaining(['Ip', 'Icmp', 'Tcp', 'Udp']));
    expect(snmp.get('Tcp')!.get('MaxConn')).toBe(-1);
    expect(snmp.get('Tcp')!.get('ActiveOpens')).toBeGreaterThan(0);
    const netstat = parseSnmp('netstat', fixture('net/netstat'));
    expect(netstat.get('TcpExt')!.has('ListenOverflows')).toBe(true);
    expect(netstat.get('TcpExt')!.get('TCPKeepAlive')).toBeGreaterThan(0);
  });

  it('names the line and field of a value that is not a number', () => {
    const text = 'Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 x12\n';
    const error = parseError(() => parseSnmp('/proc/net/snmp', text));
    expect(error.message).toBe('/proc/net/snmp:2: field Tcp ActiveOpens: not a number: "x12"');
  });

  it('rejects a header without values and a count mismatch', () => {
    expect(parseError(() => parseSnmp('f', 'Tcp: A B\n')).message).toContain('no line of values');
    expect(parseError(() => parseSnmp('f', 'Tcp: A B\nTcp: 1\n')).message).toContain('2 field names but 1 values');
    expect(parseError(() => parseSnmp('f', 'Tcp: A\nUdp: 1\n')).message).toContain('expected values for group Tcp');
  });
});

describe('parseSockstat', () => {
  it('reads sockstat and sockstat6 captures', () => {
    const sockstat = parseSockstat('sockstat', fixture('net/sockstat'));
    expect([...sockstat.get('TCP')!.keys()]).toEqual(['inuse', 'orphan', 'tw', 'alloc', 'mem']);
    // The capture's namespace held 3 TIME_WAIT sockets and 4 orphaned FIN_WAIT2 ones; tw counts both.
    expect(sockstat.get('TCP')!.get('tw')).toBe(7);
    expect(parseSockstat('sockstat6', fixture('net/sockstat6')).get('TCP6')!.get('inuse')).toBeGreaterThan(0);
  });

  it('rejects unpaired keys and non-numbers', () => {
    expect(parseError(() => parseSockstat('f', 'TCP: inuse 1 orphan\n')).message).toBe('f:1: field TCP: keys and values do not pair up');
    expect(parseError(() => parseSockstat('f', 'sockets: used 1\nTCP: inuse -\n')).message).toBe('f:2: field TCP inuse: not a number: "-"');
    expect(parseError(() => parseSockstat('f', 'garbage\n')).field).toBe('protocol');
  });
});

describe('sysctl parsers', () => {
  it('reads scalar and multi-value sysctls', () => {
    expect(parseSysctl('f', 'net.ipv4.tcp_syncookies', fixture('sys/net/ipv4/tcp_syncookies'))).toHaveLength(1);
    expect(parseSysctl('f', 'net.ipv4.tcp_mem', fixture('sys/net/ipv4/tcp_mem'))).toHaveLength(3);
    expect(parsePortRange('f', fixture('sys/net/ipv4/ip_local_port_range'))).toEqual([32768, 60999]);
  });

  it('names a sysctl that cannot be parsed', () => {
    expect(parseError(() => parseSysctl('/proc/sys/net/ipv4/tcp_fin_timeout', 'net.ipv4.tcp_fin_timeout', 'sixty\n')).message).toBe(
      '/proc/sys/net/ipv4/tcp_fin_timeout:1: field net.ipv4.tcp_fin_timeout: not a number: "sixty"',
    );
    expect(parseError(() => parseSysctl('f', 'x.y', '\n')).message).toContain('empty value');
    expect(parseError(() => parsePortRange('f', '60999 32768\n')).message).toContain('expected "<first> <last>"');
  });

  it('reads the page size from smaps', () => {
    expect(parsePageSize('smaps', fixture('self/smaps'))).toBe(4096);
    expect(parseError(() => parsePageSize('smaps', 'Size: 4 kB\n')).field).toBe('KernelPageSize');
  });
});
