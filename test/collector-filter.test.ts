import { describe, expect, it } from 'vitest';
import { CollectorFilterError, selectCollectors } from '../src/collector-filter.js';

const enabled = ['sockets', 'sockstat', 'netstat', 'sysctl'];

describe('collect[] and exclude[]', () => {
  it('neither: every enabled collector', () => {
    expect(selectCollectors(enabled, undefined, undefined)).toEqual(enabled);
  });
  it('collect[]: only those, in list order', () => {
    expect(selectCollectors(enabled, ['sysctl', 'sockets'], undefined)).toEqual(['sockets', 'sysctl']);
    expect(selectCollectors(enabled, 'netstat', undefined)).toEqual(['netstat']);
  });
  it('exclude[]: all but those', () => {
    expect(selectCollectors(enabled, undefined, ['sysctl'])).toEqual(['sockets', 'sockstat', 'netstat']);
  });
  it('a collector that is not enabled, or both parameters, is refused with a reason', () => {
    expect(() => selectCollectors(enabled, ['process'], undefined)).toThrow(new CollectorFilterError('collector "process" is not enabled; enabled: sockets, sockstat, netstat, sysctl'));
    expect(() => selectCollectors(enabled, ['sockets'], ['sysctl'])).toThrow('collect[] and exclude[] cannot be used together');
  });
});
