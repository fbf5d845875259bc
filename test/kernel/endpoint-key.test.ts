import { describe, expect, it } from 'vitest';
import { endpointOfKey, formatIpv6, ipv4Key } from '../../src/kernel/endpoint-key.js';

/** WHATWG URL parsing serialises IPv6 hosts in the RFC 5952 form: an oracle we did not write. */
function viaUrl(hex: string): string {
  const groups = hex.match(/.{4}/g)!.join(':');
  return new URL(`http://[${groups}]/`).hostname.slice(1, -1);
}

describe('endpoint keys', () => {
  it('turn an IPv4 key back into its dotted address and port', () => {
    expect(endpointOfKey(ipv4Key(0x7f000001, 8080))).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(endpointOfKey(ipv4Key(0xffffffff, 65535))).toEqual({ address: '255.255.255.255', port: 65535 });
    expect(endpointOfKey(ipv4Key(0x0a000105, 5432))).toEqual({ address: '10.0.1.5', port: 5432 });
  });

  it('turn an IPv6 key back into the RFC 5952 text', () => {
    expect(endpointOfKey('00000000000000000000000000000001:8443')).toEqual({ address: '::1', port: 8443 });
    expect(endpointOfKey('20010db8000000000001000000000001:443')).toEqual({ address: '2001:db8::1:0:0:1', port: 443 });
    expect(formatIpv6('20010db8000000000000000000000000')).toBe('2001:db8::');
    expect(formatIpv6('00000000000000000000000000000000')).toBe('::');
    // A single zero group is not shortened.
    expect(formatIpv6('20010db8000000010001000100010001')).toBe('2001:db8:0:1:1:1:1:1');
  });

  it('format like the WHATWG URL serialiser for many addresses', () => {
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 2000; i++) {
      // Mostly-zero groups, so runs of zeros of every length and place come up.
      let hex = '';
      for (let g = 0; g < 8; g++) hex += next() % 3 === 0 ? (next() & 0xffff).toString(16).padStart(4, '0') : '0000';
      expect(formatIpv6(hex), hex).toBe(viaUrl(hex));
    }
  });

  it('refuse a string that is not an IPv6 key', () => {
    expect(() => endpointOfKey('nonsense')).toThrow(/not an IPv6 endpoint key/);
  });
});
