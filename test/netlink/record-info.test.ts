/**
 * InetDiagRecord.locateInfo(): the INET_DIAG_INFO attribute of the message the record points at,
 * on real captured dumps (the tcp_info capture, and the counting dump that never asks for it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SocketRecord, SocketSink } from '../../src/kernel/socket-record.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import { TCP_INFO_LAYOUT, TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';
import { CAPTURED_SEQ, capturedDatagrams, wordsOf } from '../helpers/captured-netlink.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { seq: { ipv4: number; ipv6: number } };
const chunksOf = (family: 'ipv4' | 'ipv6'): Uint8Array[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`info-${family}-`))
    .sort()
    .map((f) => aligned(readFileSync(dir + f)));

interface Seen {
  offset: number;
  length: number;
  rtt: number | undefined;
}

/** Calls locateInfo() during add(), as a tcp_info sink does, and keeps what it found. */
class LocatingSink implements SocketSink {
  readonly seen: Seen[] = [];
  private readonly reader = new TcpInfoReader();
  add(socket: SocketRecord): void {
    const record = socket as InetDiagRecord;
    const offset = record.locateInfo();
    const length = record.infoLength;
    const rtt = offset < 0 ? undefined : this.reader.at(record.bytes, offset, length).u32At(TCP_INFO_LAYOUT.rtt[0]);
    this.seen.push({ offset, length, rtt });
  }
}

function parse(chunks: readonly Uint8Array[], seq: number): Seen[] {
  const sink = new LocatingSink();
  const record = new InetDiagRecord();
  const progress = newDumpProgress();
  for (const chunk of chunks) parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, seq, record, sink, progress);
  expect(progress.done).toBe(true);
  return sink.seen;
}

describe('InetDiagRecord.locateInfo', () => {
  it.each(['ipv4', 'ipv6'] as const)('finds the same tcp_info as the reader does on the captured %s dump', (family) => {
    const chunks = chunksOf(family);
    const seen = parse(chunks, meta.seq[family]);
    const messages = inetDiagMessages(chunks, meta.seq[family]);
    expect(seen.length).toBe(messages.length);
    expect(seen.length).toBeGreaterThan(0);
    const reader = new TcpInfoReader();
    messages.forEach((m, i) => {
      expect(reader.fromInetDiagMessage(m.bytes, m.payload, m.length)).toBe(true);
      // This kernel (6.18) sends the 280-byte struct.
      expect(seen[i]!.length).toBe(reader.length);
      expect(seen[i]!.length).toBe(280);
      expect(seen[i]!.rtt).toBe(reader.u32At(TCP_INFO_LAYOUT.rtt[0]));
    });
  });

  it('finds nothing in the counting dump, which asks for no extension', () => {
    const seen = parse(capturedDatagrams('all'), CAPTURED_SEQ);
    expect(seen.length).toBeGreaterThan(10);
    for (const s of seen) expect(s).toEqual({ offset: -1, length: 0, rtt: undefined });
  });
});
