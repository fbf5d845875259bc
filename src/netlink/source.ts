/**
 * The fast socket source: an inet_diag dump of TCP sockets over NETLINK_SOCK_DIAG, through libc
 * with koffi: one TCPDIAG_GETSOCK dump that walks the kernel's hash table once for both
 * families where the kernel serves it (every kernel to date), else a SOCK_DIAG_BY_FAMILY dump
 * for AF_INET and one for AF_INET6. See netlink-parse.ts for the wire format.
 *
 * The kernel does its work inside recv(): each call walks the TCP hash table (shared by every
 * network namespace on the host) until a 32 KiB skb is full. One call can therefore take tens of
 * milliseconds (a dump of a family with few sockets, on a host with many, walks everything in a
 * single call), and no amount of yielding between calls bounds that. So by default the recv()
 * calls run on a worker thread (netlink-worker.ts) that writes the datagrams into shared memory,
 * and this thread only parses: the event loop never waits on the kernel, and parsing overlaps
 * the kernel's work. If the worker cannot be used (its compiled file is missing, as when these
 * sources run untranspiled, or it fails to start), the source reads on this thread and yields
 * to the event loop every few milliseconds.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Family } from '../kernel/tcp.js';
import type { ScanResult, SocketSink, SocketSource } from '../kernel/socket-record.js';
import {
  closeFd,
  ERRNO,
  kernelHasIpv6,
  loadLibc,
  NetlinkUnavailableError,
  openDiagSocket,
  recvDatagram,
  sendAll,
  SyscallError,
} from './ffi.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  encodeAllFamiliesDumpRequest,
  encodeDumpRequest,
  errnoName,
  InetDiagRecord,
  MIN_RECV_BUFFER,
  NetlinkKernelError,
  newDumpProgress,
  parseDumpChunk,
  type DumpProgress,
} from './parse.js';
import {
  ABORT_INDEX,
  CONTROL_WORDS,
  SLOT_BYTES,
  SLOT_COUNT,
  SLOT_FREE,
  SLOT_STRIDE,
  type DumpCommand,
  type WorkerData,
  type WorkerReply,
} from './shared-memory.js';

export { NetlinkUnavailableError } from './ffi.js';
export { NetlinkKernelError, NetlinkParseError } from './parse.js';

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
}

const DEFAULTS = {
  request: 'auto',
  thread: 'auto',
  yieldEveryMs: 5,
  bufferBytes: 65536,
  receiveTimeoutMs: 5000,
  scanTimeoutMs: 60_000,
} as const;

const WORKER_FILE = new URL('./worker.js', import.meta.url);

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Kernel answers to a dump request that mean "this family is not here". */
function familyMissing(errno: number): boolean {
  return errno === ERRNO.ENOENT || errno === ERRNO.EAFNOSUPPORT || errno === ERRNO.EOPNOTSUPP || errno === ERRNO.EINVAL;
}

/** One dump request of a scan: an address family (AF_UNSPEC: every family in one walk). */
interface Request {
  family: number;
  seq: number;
}

const requestLabel = (family: number): string => (family === AF_INET6 ? 'ipv6' : family === AF_INET ? 'ipv4' : 'ipv4 and ipv6');

const encodeRequest = (request: Request): Uint8Array =>
  request.family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(request.seq) : encodeDumpRequest(request.family, request.seq);

/** Names the dump in a kernel error, which the parser cannot know. */
function inRequest(error: unknown, request: Request): unknown {
  if (error instanceof NetlinkKernelError) return new NetlinkKernelError(error.errno, `while dumping ${requestLabel(request.family)} TCP sockets`);
  return error;
}

/** The dump thread could not start (or died before it answered): nothing reached the sink. */
class DumpThreadUnusable extends Error {}

/**
 * The worker thread and the shared memory it fills. One dump at a time; created on the first
 * scan, kept for the next ones, and unref'd between scans so it never keeps the process alive.
 */
class DumpThread {
  private worker: Worker | null = null;
  private readonly data = new SharedArrayBuffer(SLOT_COUNT * SLOT_BYTES);
  private readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  readonly bytes = new Uint8Array(this.data);
  readonly words = new Uint32Array(this.data);
  readonly ctrl = new Int32Array(this.control);

  /** Whether the worker ever answered; a worker that never did is not tried again. */
  private answered = false;

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const workerData: WorkerData = { data: this.data, control: this.control };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_FILE, { workerData, name: 'tcpstate-netlink' });
    } catch (error) {
      throw new DumpThreadUnusable(`netlink: cannot start the dump thread: ${(error as Error).message}`);
    }
    worker.unref();
    // A worker that dies is replaced at the next scan.
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  private reset(): void {
    for (let slot = 0; slot < SLOT_COUNT; slot++) this.ctrl[slot * SLOT_STRIDE] = SLOT_FREE;
    Atomics.store(this.ctrl, ABORT_INDEX, 0);
  }

  /**
   * Runs one dump; `onDatagram` is called for every datagram, in order, with its place in
   * `bytes`. Throwing from it aborts the dump and rejects with that error.
   */
  run(command: DumpCommand, silenceMs: number, onDatagram: (start: number, length: number, request: number) => void): Promise<void> {
    this.reset();
    const worker = this.start();
    return new Promise<void>((resolve, reject) => {
      let failure: unknown = null;
      let watchdog: NodeJS.Timeout;
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          finish(new Error(`netlink: no data from the dump thread for ${silenceMs} ms`));
          void worker.terminate();
        }, silenceMs);
      };
      const finish = (error: unknown): void => {
        clearTimeout(watchdog);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
        this.reset();
        if (error === null) resolve();
        else reject(error);
      };
      const onMessage = (reply: WorkerReply): void => {
        this.answered = true;
        arm();
        if (reply.type === 'slot') {
          const at = reply.slot * SLOT_STRIDE;
          if (failure === null) {
            try {
              const count = this.ctrl[at + 1]!;
              for (let i = 0; i < count; i++) onDatagram(this.ctrl[at + 2 + 2 * i]!, this.ctrl[at + 3 + 2 * i]!, reply.request);
            } catch (error) {
              failure = error;
              Atomics.store(this.ctrl, ABORT_INDEX, 1);
            }
          }
          Atomics.store(this.ctrl, at, SLOT_FREE);
          Atomics.notify(this.ctrl, at);
        } else if (reply.type === 'end' || reply.type === 'aborted') {
          finish(failure);
        } else {
          finish(failure ?? (reply.errno !== undefined && reply.syscall !== undefined ? new SyscallError(reply.syscall, reply.errno, 'netlink') : new Error(reply.message)));
        }
      };
      const died = (why: string): Error => (this.answered ? new Error(`netlink: ${why}`) : new DumpThreadUnusable(`netlink: ${why}`));
      const onError = (error: Error): void => finish(died(`the dump thread failed: ${error.message}`));
      const onExit = (code: number): void => finish(died(`the dump thread exited (code ${code})`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.ref(); // a scan in flight keeps the process alive (e.g. `collect`)
      arm();
      worker.postMessage(command);
    });
  }
}

export class NetlinkSource implements SocketSource {
  readonly name = 'netlink' as const;
  /** Families the kernel answers for, decided when the source was created. */
  readonly families: readonly Family[];
  /** Whether a scan is one walk of the hash table for every family (else one dump per family). */
  readonly singleWalk: boolean;
  private readonly options: Required<NetlinkSourceOptions>;
  private readonly record = new InetDiagRecord();
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private thread: DumpThread | null = null;
  private inlineBuffer: { bytes: Uint8Array; words: Uint32Array } | null = null;
  /** Scans run one after the other: one worker, one set of slots. */
  private queue: Promise<unknown> = Promise.resolve();

  /** `singleWalk`: the kernel answered a TCPDIAG_GETSOCK probe (see createNetlinkSource). */
  constructor(families: readonly Family[], options: NetlinkSourceOptions = {}, singleWalk = false) {
    this.families = families;
    this.options = { ...DEFAULTS, ...options };
    this.singleWalk = singleWalk && this.options.request === 'auto';
    const wantWorker = this.options.thread === 'worker' || (this.options.thread === 'auto' && existsSync(fileURLToPath(WORKER_FILE)));
    if (wantWorker) this.thread = new DumpThread();
  }

  /** Where the recv() calls run. */
  get mode(): 'worker' | 'inline' {
    return this.thread === null ? 'inline' : 'worker';
  }

  scan(sink: SocketSink): Promise<ScanResult> {
    const run = this.queue.then(
      () => this.scanNow(sink),
      () => this.scanNow(sink),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0x3fffffff;
    return this.seq;
  }

  private requests(): Request[] {
    if (this.singleWalk) return [{ family: AF_UNSPEC, seq: this.nextSeq() }];
    return this.families.map((family) => ({ family: family === 1 ? AF_INET6 : AF_INET, seq: this.nextSeq() }));
  }

  private async scanNow(sink: SocketSink): Promise<ScanResult> {
    const c = loadLibc();
    let inline = this.thread === null;
    if (!inline) {
      try {
        await this.scanInWorker(sink);
      } catch (error) {
        // A worker that cannot run here at all (nothing reached the sink yet): read inline from
        // now on rather than fail every scrape.
        if (!(error instanceof DumpThreadUnusable)) throw error;
        this.thread = null;
        inline = true;
      }
    }
    if (inline) await this.scanInline(c, sink);
    return { families: [...this.families], listenQueueLimitKnown: true };
  }

  private async scanInWorker(sink: SocketSink): Promise<void> {
    const thread = this.thread!;
    const requests = this.requests();
    const progress: DumpProgress[] = requests.map(() => newDumpProgress());
    const record = this.record;
    const { bytes, words } = thread;
    const command: DumpCommand = { type: 'dump', requests, receiveTimeoutMs: this.options.receiveTimeoutMs };
    const started = performance.now();
    await thread.run(command, this.options.receiveTimeoutMs * 2 + 1000, (start, length, index) => {
      const request = requests[index]!;
      if (performance.now() - started > this.options.scanTimeoutMs) throw new Error(`netlink: the sock_diag dump took longer than ${this.options.scanTimeoutMs} ms`);
      try {
        parseDumpChunk(bytes, words, start, start + length, request.seq, record, sink, progress[index]!);
      } catch (error) {
        throw inRequest(error, request);
      }
    });
    progress.forEach((p, i) => {
      if (!p.done) throw new Error(`netlink: the ${requestLabel(requests[i]!.family)} dump ended without NLMSG_DONE`);
    });
  }

  private async scanInline(c: ReturnType<typeof loadLibc>, sink: SocketSink): Promise<void> {
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
      const fd = openDiagSocket(c, this.options.receiveTimeoutMs);
      try {
        sendAll(c, fd, encodeRequest(request));
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
      } catch (error) {
        throw inRequest(error, request);
      } finally {
        closeFd(c, fd);
      }
    }
  }
}

/**
 * Opens the netlink path and checks, with a dump that matches no state (the kernel resolves the
 * inet_diag handler for TCP, then walks nothing), that the kernel answers for AF_INET and
 * whether it does for AF_INET6. Throws NetlinkUnavailableError when netlink cannot be used:
 * koffi or libc cannot be loaded, socket() is refused (EPERM/EACCES under seccomp or an LSM,
 * EAFNOSUPPORT/EPROTONOSUPPORT without netlink or sock_diag), or the kernel has no TCP
 * inet_diag handler. IPv6 is left out of `families` when the kernel has no IPv6. It also probes
 * whether one TCPDIAG_GETSOCK dump can replace the two per-family dumps (see
 * encodeAllFamiliesDumpRequest); if not, scans use SOCK_DIAG_BY_FAMILY per family.
 */
export function createNetlinkSource(options: NetlinkSourceOptions = {}): NetlinkSource {
  const c = loadLibc();
  const timeout = options.receiveTimeoutMs ?? DEFAULTS.receiveTimeoutMs;
  /** 0 when the kernel answered a complete (empty) dump, else the errno, or -1 for no answer. */
  const probe = (family: number): number => {
    let fd: number;
    try {
      fd = openDiagSocket(c, timeout);
    } catch (error) {
      const e = error as SyscallError;
      throw new NetlinkUnavailableError(`netlink unavailable: ${e.message}`, e.errno);
    }
    try {
      sendAll(c, fd, family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(1, 0) : encodeDumpRequest(family, 1, 0));
      const buffer = new Uint8Array(MIN_RECV_BUFFER);
      const words = new Uint32Array(buffer.buffer);
      const progress = newDumpProgress();
      const sink = { add: (): void => undefined };
      for (let i = 0; i < 16 && !progress.done; i++) {
        const n = recvDatagram(c, fd, buffer);
        if (n === 0) break;
        parseDumpChunk(buffer, words, 0, n, 1, new InetDiagRecord(), sink, progress);
      }
      return progress.done ? 0 : -1;
    } catch (error) {
      if (error instanceof NetlinkKernelError || error instanceof SyscallError) return error.errno;
      return -1;
    } finally {
      closeFd(c, fd);
    }
  };

  const v4 = probe(AF_INET);
  if (v4 !== 0) {
    const why = v4 < 0 ? 'no complete answer' : errnoName(v4);
    throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET TCP sock_diag dump (${why})`, v4 > 0 ? v4 : undefined);
  }
  const families: Family[] = [0];
  if (kernelHasIpv6(c)) {
    const v6 = probe(AF_INET6);
    if (v6 === 0) families.push(1);
    else if (!(v6 > 0 && familyMissing(v6))) {
      throw new NetlinkUnavailableError(`netlink unavailable: the kernel refused an AF_INET6 TCP sock_diag dump (${v6 < 0 ? 'no complete answer' : errnoName(v6)})`, v6 > 0 ? v6 : undefined);
    }
  }
  // One walk for both families, if this kernel still serves the original request type.
  const singleWalk = (options.request ?? DEFAULTS.request) === 'auto' && probe(AF_UNSPEC) === 0;
  return new NetlinkSource(families, options, singleWalk);
}
