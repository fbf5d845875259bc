import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ScanResult, SocketSink, SocketSource } from '../../src/kernel/socket-record.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { InetDiagRecord } from '../../src/netlink/record.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/', import.meta.url));

/** The sequence number capture.mjs used for every dump it saved. */
export const CAPTURED_SEQ = 7;

/** A copy at the start of a fresh ArrayBuffer (4-byte aligned, as the source's receive buffer is). */
export function aligned(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer((bytes.length + 3) & ~3), 0, bytes.length);
  copy.set(bytes);
  return copy;
}

export function wordsOf(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.buffer.byteLength >>> 2);
}

export function capturedFile(name: string): Uint8Array {
  return aligned(readFileSync(dir + name));
}

/** The datagrams of one captured dump, in order: per family, or `all` for the one-walk dump. */
export function capturedDatagrams(dump: 'ipv4' | 'ipv6' | 'all'): Uint8Array[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${dump}-`) && f.endsWith('.bin')).sort();
  if (files.length === 0) throw new Error(`no captured ${dump} datagrams in ${dir}`);
  return files.map(capturedFile);
}

/**
 * A socket source that replays the captured one-walk netlink dump (real kernel bytes, see
 * fixtures/netlink/README.md) through the real parser: what the exporter emits from a netlink
 * dump, listen-queue limits included, without a live kernel.
 */
export class CapturedNetlinkSource implements SocketSource {
  readonly name = 'netlink' as const;

  async scan(sink: SocketSink): Promise<ScanResult> {
    const record = new InetDiagRecord();
    const progress = newDumpProgress();
    for (const chunk of capturedDatagrams('all')) parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, CAPTURED_SEQ, record, sink, progress);
    if (!progress.done) throw new Error('the captured dump has no NLMSG_DONE');
    return { families: [0, 1], listenQueueLimitKnown: true };
  }
}
