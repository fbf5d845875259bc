import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RequestedDump, ScanResult, SocketSink, SocketSource } from '../../src/kernel/socket-record.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import { aligned, wordsOf } from './captured-netlink.js';

const dir = fileURLToPath(new URL('../fixtures/netlink/tcpinfo/', import.meta.url));
const meta = JSON.parse(readFileSync(dir + 'meta.json', 'utf8')) as { seq: { ipv4: number; ipv6: number } };

/**
 * A socket source that replays the captured tcp_info dumps (real 6.18 kernel bytes, see
 * fixtures/netlink/tcpinfo/README.md) through the real parser, for the counting dump and for the
 * collector's own dump alike. The capture was made without a port filter, so a request's filter
 * is not applied: the replay hands over every ESTABLISHED socket and the collector sorts them, as
 * it does with --collector.tcpinfo.port-filter=off. Its sockets are ESTABLISHED only: no
 * listeners, so the watched server ports are the ones asked for with --collector.sockets.ports.
 */
export class CapturedTcpInfoSource implements SocketSource {
  readonly name = 'netlink' as const;

  scan(sink: SocketSink): Promise<ScanResult> {
    const record = new InetDiagRecord();
    for (const family of ['ipv4', 'ipv6'] as const) {
      const progress = newDumpProgress();
      const files = readdirSync(dir).filter((f) => f.startsWith(`info-${family}-`)).sort();
      for (const file of files) {
        const chunk = aligned(readFileSync(dir + file));
        parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, meta.seq[family], record, sink, progress);
      }
      if (!progress.done) throw new Error(`the captured ${family} tcp_info dump has no NLMSG_DONE`);
    }
    return Promise.resolve({ families: [0, 1], listenQueueLimitKnown: true });
  }

  requestedDump(): RequestedDump {
    return (sink) => this.scan(sink);
  }
}
