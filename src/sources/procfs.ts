import type { ProcRoot } from '../procfs/proc-root.js';
import { NetTcpParser } from '../procfs/net-tcp.js';
import type { Family } from '../kernel/tcp.js';
import type { ScanResult, SocketSink, SocketSource } from '../kernel/socket-record.js';

const TABLES: ReadonlyArray<{ file: string; family: Family }> = [
  { file: 'tcp', family: 0 },
  { file: 'tcp6', family: 1 },
];

/**
 * The socket table from <procfs>/net/tcp and tcp6: the fallback when netlink is unavailable,
 * and the only source that can read another namespace's table through --path.procfs.
 */
export class ProcfsSource implements SocketSource {
  readonly name = 'procfs';

  /**
   * `chunkBytes`: the read size. The host's table can be tens of MB; a pod's is a few KB, and a
   * hundred of them per scrape should not each allocate the host's 256 KB buffer.
   */
  constructor(
    private readonly root: ProcRoot,
    private readonly chunkBytes = 256 * 1024,
  ) {}

  async scan(sink: SocketSink): Promise<ScanResult> {
    const families: Family[] = [];
    for (const { file, family } of TABLES) {
      const parser = new NetTcpParser(this.root.path('net', file), family, sink);
      const exists = await this.root.streamChunks(['net', file], (chunk, length) => parser.push(chunk, length), this.chunkBytes);
      if (!exists) continue; // no IPv6 in this kernel: the family is left out, not zeroed
      parser.finish();
      families.push(family);
    }
    if (families.length === 0) {
      throw new Error(`neither ${this.root.path('net', 'tcp')} nor ${this.root.path('net', 'tcp6')} exists`);
    }
    return { families, listenQueueLimitKnown: false };
  }
}
