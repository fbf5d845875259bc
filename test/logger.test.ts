import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

describe('logs', () => {
  it('JSON: the level by name and an ISO 8601 time', () => {
    const out = capture();
    createLogger('info', 'json', out.stream).warn({ collector: 'sockets' }, 'collector failed');
    const record = JSON.parse(out.lines()[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'warn', collector: 'sockets', msg: 'collector failed' });
    expect(String(record.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('logfmt: the same fields, so `grep collector=` finds a failed collector', () => {
    const out = capture();
    createLogger('info', 'logfmt', out.stream).error({ collector: 'sockets', err: 'cannot read /proc/net/tcp: x' }, 'collector failed');
    expect(out.lines()[0]).toMatch(/^time=\d{4}-\d\d-\d\dT[\d:.]+Z level=error msg="collector failed" collector=sockets err="cannot read \/proc\/net\/tcp: x"$/);
  });

  it('--log.level filters', () => {
    const out = capture();
    const logger = createLogger('warn', 'logfmt', out.stream);
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(out.lines()).toHaveLength(1);
  });
});
