/**
 * The fast socket source: an inet_diag dump of TCP sockets over NETLINK_SOCK_DIAG, through libc
 * with koffi: one TCPDIAG_GETSOCK dump that walks the kernel's hash table once for both
 * families where the kernel serves it (every kernel to date), else a SOCK_DIAG_BY_FAMILY dump
 * for AF_INET and one for AF_INET6 (probe.ts decides). See protocol.ts for the wire format.
 *
 * The kernel does its work inside recv(): each call walks the TCP hash table (shared by every
 * network namespace on the host) until a 32 KiB skb is full. One call can therefore take tens of
 * milliseconds (a dump of a family with few sockets, on a host with many, walks everything in a
 * single call), and no amount of yielding between calls bounds that. So by default the recv()
 * calls run on a worker thread (worker.ts, driven by dump-thread.ts) that writes the datagrams
 * into shared memory, and this thread only parses: the event loop never waits on the kernel, and
 * parsing overlaps the kernel's work. If the worker cannot be used (its compiled file is missing,
 * as when these sources run untranspiled, or it fails to start), the source reads on this thread
 * and yields to the event loop every few milliseconds.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DumpRequestEncoder, RequestedDump, ScanResult, SocketSink, SocketSource } from '../kernel/socket-record.js';
import type { Family } from '../kernel/tcp.js';
import { DumpThreadUnusable, sharedDumpThread, WORKER_FILE, type DumpThread } from './dump-thread.js';
import { NetlinkKernelError } from './errors.js';
import { closeFd, loadLibc, openDiagSocket, recvDatagram, sendAll } from './ffi.js';
import { newDumpProgress, parseDumpChunk, type DumpProgress } from './parse.js';
import { AF_INET, AF_INET6, AF_UNSPEC, encodeRequest, MIN_RECV_BUFFER } from './protocol.js';
import { InetDiagRecord } from './record.js';
import type { DumpCommand } from './shared-memory.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface NetlinkSourceOptions {
  /**
   * 'auto': one walk of the kernel's hash table for both families (TCPDIAG_GETSOCK) when the
   * kernel serves it, else one SOCK_DIAG_BY_FAMILY dump per family; 'per-family' forces the latter.
   */
  request?: 'auto' | 'per-family';
  /**
   * Where the recv() calls run: 'worker' (a worker thread; the default when its compiled file
   * exists), 'inline' (this thread, yielding between calls), or 'auto'.
   */
  thread?: 'auto' | 'worker' | 'inline';
  /** Inline mode: yield to the event loop after this much continuous work (ms). */
  yieldEveryMs?: number;
  /** Inline mode: receive buffer size; at least one skb of the dump (32 KiB). */
  bufferBytes?: number;
  /** A single recv() waiting longer than this fails the scan (ms). */
  receiveTimeoutMs?: number;
  /** The whole scan fails after this long (ms). */
  scanTimeoutMs?: number;
  /**
   * Where each dump's socket comes from. By default a fresh socket in the exporter's network
   * namespace, closed after the dump (in worker mode the worker opens it); another namespace's
   * source keeps one opened inside that namespace (netns-socket.ts), acquired on this thread
   * because setns moves only the calling thread, and handed to the worker by descriptor.
   */
  sockets?: DiagSockets;
}

/** The counting dump's encoder is encodeRequest; the tcp_info dump passes its own. */
export type { DumpRequestEncoder } from '../kernel/socket-record.js';

/** Gives out the sock_diag socket for one dump, and takes it back (`failed`: the dump broke off). */
export interface DiagSockets {
  acquire(receiveTimeoutMs: number): number;
  release(fd: number, failed: boolean): void;
}

export const NETLINK_DEFAULTS = {
  request: 'auto',
  thread: 'auto',
  yieldEveryMs: 5,
  bufferBytes: 65536,
  receiveTimeoutMs: 5000,
  scanTimeoutMs: 60_000,
} as const;

/** A socket per dump, in this thread's namespace. */
const FRESH_SOCKETS: DiagSockets = {
  acquire: (receiveTimeoutMs) => openDiagSocket(loadLibc(), receiveTimeoutMs),
  release: (fd) => closeFd(loadLibc(), fd),
};

/** One dump request of a scan: an address family (AF_UNSPEC: every family in one walk). */
interface Request {
  family: number;
  seq: number;
}

const requestLabel = (family: number): string => (family === AF_INET6 ? 'ipv6' : family === AF_INET ? 'ipv4' : 'ipv4 and ipv6');

/** Names the dump in a kernel error, which the parser cannot know. */
function inRequest(error: unknown, request: Request): unknown {
  if (error instanceof NetlinkKernelError) return new NetlinkKernelError(error.errno, `while dumping ${requestLabel(request.family)} TCP sockets`);
  return error;
}

export class NetlinkSource implements SocketSource {
  readonly name = 'netlink' as const;
  /** Families the kernel answers for, decided when the source was created. */
  readonly families: readonly Family[];
  /** Whether a scan is one walk of the hash table for every family (else one dump per family). */
  readonly singleWalk: boolean;
  private readonly options: Required<Omit<NetlinkSourceOptions, 'sockets'>>;
  /** Undefined: fresh sockets in our own namespace. */
  private readonly sockets: DiagSockets | undefined;
  private readonly record = new InetDiagRecord();
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private thread: DumpThread | null = null;
  private inlineBuffer: { bytes: Uint8Array; words: Uint32Array } | null = null;
  /** Scans of this source run one after the other (inline, they share one buffer and record). */
  private queue: Promise<unknown> = Promise.resolve();

  /** `singleWalk`: the kernel answered a TCPDIAG_GETSOCK probe (see createNetlinkSource). */
  constructor(families: readonly Family[], options: NetlinkSourceOptions = {}, singleWalk = false) {
    this.families = families;
    const { sockets, ...rest } = options;
    this.options = { ...NETLINK_DEFAULTS, ...rest };
    this.sockets = sockets;
    this.singleWalk = singleWalk && this.options.request === 'auto';
    const wantWorker = this.options.thread === 'worker' || (this.options.thread === 'auto' && existsSync(fileURLToPath(WORKER_FILE)));
    if (wantWorker) this.thread = sharedDumpThread();
  }

  /** Where the recv() calls run. */
  get mode(): 'worker' | 'inline' {
    return this.thread === null ? 'inline' : 'worker';
  }

  /** One scan of the table; `encode` shapes the request (by default the counting dump's). */
  scan(sink: SocketSink, encode: DumpRequestEncoder = encodeRequest): Promise<ScanResult> {
    const run = this.queue.then(
      () => this.scanNow(sink, encode),
      () => this.scanNow(sink, encode),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The tcp_info dump goes through scan() too: same queue, same dump thread. */
  requestedDump(): RequestedDump {
    return (sink, encode) => this.scan(sink, encode);
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0x3fffffff;
    return this.seq;
  }

  private requests(): Request[] {
    if (this.singleWalk) return [{ family: AF_UNSPEC, seq: this.nextSeq() }];
    return this.families.map((family) => ({ family: family === 1 ? AF_INET6 : AF_INET, seq: this.nextSeq() }));
  }

  private async scanNow(sink: SocketSink, encode: DumpRequestEncoder): Promise<ScanResult> {
    const c = loadLibc();
    let inline = this.thread === null;
    if (!inline) {
      try {
        await this.scanInWorker(sink, encode);
      } catch (error) {
        // A worker that cannot run here at all (nothing reached the sink yet): read inline from
        // now on rather than fail every scrape.
        if (!(error instanceof DumpThreadUnusable)) throw error;
        this.thread = null;
        inline = true;
      }
    }
    if (inline) await this.scanInline(c, sink, encode);
    return { families: [...this.families], listenQueueLimitKnown: true };
  }

  private async scanInWorker(sink: SocketSink, encode: DumpRequestEncoder): Promise<void> {
    const thread = this.thread!;
    const requests = this.requests();
    const progress: DumpProgress[] = requests.map(() => newDumpProgress());
    const record = this.record;
    const { bytes, words } = thread;
    const fd = this.sockets?.acquire(this.options.receiveTimeoutMs);
    const command: DumpCommand = { type: 'dump', requests: requests.map((r) => ({ message: encode(r.family, r.seq), fd })), receiveTimeoutMs: this.options.receiveTimeoutMs };
    const started = performance.now();
    let failed = true;
    try {
      await thread.run(command, this.options.receiveTimeoutMs * 2 + 1000, (start, length, index) => {
        const request = requests[index]!;
        if (performance.now() - started > this.options.scanTimeoutMs) throw new Error(`netlink: the sock_diag dump took longer than ${this.options.scanTimeoutMs} ms`);
        try {
          return parseDumpChunk(bytes, words, start, start + length, request.seq, record, sink, progress[index]!).done;
        } catch (error) {
          throw inRequest(error, request);
        }
      });
      progress.forEach((p, i) => {
        if (!p.done) throw new Error(`netlink: the ${requestLabel(requests[i]!.family)} dump ended without NLMSG_DONE`);
      });
      failed = false;
    } finally {
      // A kept socket that broke off mid-dump may still hold its datagrams: it is not reused.
      if (fd !== undefined) this.sockets!.release(fd, failed);
    }
  }

  private async scanInline(c: ReturnType<typeof loadLibc>, sink: SocketSink, encode: DumpRequestEncoder): Promise<void> {
    const deadline = performance.now() + this.options.scanTimeoutMs;
    if (this.inlineBuffer === null) {
      const backing = new ArrayBuffer(Math.max(MIN_RECV_BUFFER, this.options.bufferBytes) & ~3);
      this.inlineBuffer = { bytes: new Uint8Array(backing), words: new Uint32Array(backing) };
    }
    const { bytes, words } = this.inlineBuffer;
    const record = this.record;
    const yieldEvery = this.options.yieldEveryMs;
    // One time slice across both families: the end of one dump and the start of the next must
    // not add up to two slices without a yield.
    let sliceStart = performance.now();
    for (const request of this.requests()) {
      const sockets = this.sockets ?? FRESH_SOCKETS;
      const fd = sockets.acquire(this.options.receiveTimeoutMs);
      let failed = true;
      try {
        sendAll(c, fd, encode(request.family, request.seq));
        const progress = newDumpProgress();
        while (!progress.done) {
          const n = recvDatagram(c, fd, bytes);
          if (n === 0) throw new Error('netlink: the sock_diag socket returned end-of-file in the middle of a dump');
          parseDumpChunk(bytes, words, 0, n, request.seq, record, sink, progress);
          const now = performance.now();
          if (now - sliceStart >= yieldEvery) {
            if (now > deadline) throw new Error(`netlink: the sock_diag dump took longer than ${this.options.scanTimeoutMs} ms`);
            await yieldToEventLoop();
            sliceStart = performance.now();
          }
        }
        failed = false;
      } catch (error) {
        throw inRequest(error, request);
      } finally {
        // A kept socket that broke off mid-dump may still hold its datagrams: it is not reused.
        sockets.release(fd, failed);
      }
    }
  }
}
