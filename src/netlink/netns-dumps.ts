/**
 * Many namespaces' dumps in one command to the dump thread: each namespace's request goes out on
 * its own kept socket (opened inside that namespace, netns-socket.ts), one after the other, and
 * each datagram is parsed into that namespace's sink. Why one command: a dump of a namespace with
 * a hash table of its own takes the kernel tens of microseconds, while a command's round trip
 * between the threads (post, wake, the parser's word, the end) costs about half a millisecond
 * on a loaded machine; at a hundred namespaces those round trips were the collector's cost.
 */
import type { Family } from '../kernel/tcp.js';
import type { DumpThread } from './dump-thread.js';
import { NetlinkKernelError } from './errors.js';
import { newDumpProgress, parseDumpChunk, type DumpProgress } from './parse.js';
import { AF_INET, AF_INET6, AF_UNSPEC, encodeRequest } from './protocol.js';
import { InetDiagRecord } from './record.js';
import type { SocketSink } from '../kernel/socket-record.js';

/** How the kernel is asked: one walk for both families, or one dump per family (probe.ts decides). */
export interface DumpShape {
  readonly families: readonly Family[];
  readonly singleWalk: boolean;
}

export interface NamespaceDumpJob {
  /** A sock_diag socket inside the namespace, kept by its owner. */
  readonly fd: number;
  readonly sink: SocketSink;
}

export interface NamespaceDumpOutcome {
  /** Per job: its dump ended (NLMSG_DONE for every request of it). */
  readonly completed: readonly boolean[];
  /** The job whose dump broke off (its socket may still hold datagrams: not to be reused). */
  readonly brokenJob: number | undefined;
  /** Why the command stopped early; undefined when every job completed. */
  readonly error: unknown;
}

let seq = Math.floor(Math.random() * 0x3fffffff);
const nextSeq = (): number => (seq = (seq + 1) & 0x3fffffff);

/** The request families of one namespace's dump. */
function requestFamilies(shape: DumpShape): number[] {
  return shape.singleWalk ? [AF_UNSPEC] : shape.families.map((family) => (family === 1 ? AF_INET6 : AF_INET));
}

/**
 * Runs every job's dump in one command; never rejects: the outcome says which jobs completed, so
 * the caller can retry the rest one by one. Each job's records reach only its own sink.
 */
export async function dumpNamespaces(thread: DumpThread, jobs: readonly NamespaceDumpJob[], shape: DumpShape, receiveTimeoutMs: number): Promise<NamespaceDumpOutcome> {
  const families = requestFamilies(shape);
  const requests = jobs.flatMap((job, index) => families.map((family) => ({ job: index, family, seq: nextSeq(), fd: job.fd })));
  const progress: DumpProgress[] = requests.map(() => newDumpProgress());
  const record = new InetDiagRecord();
  const { bytes, words } = thread;
  let error: unknown;
  try {
    await thread.run(
      { type: 'dump', requests: requests.map((r) => ({ message: encodeRequest(r.family, r.seq), fd: r.fd })), receiveTimeoutMs },
      receiveTimeoutMs * 2 + 1000,
      (start, length, index) => {
        const request = requests[index]!;
        try {
          return parseDumpChunk(bytes, words, start, start + length, request.seq, record, jobs[request.job]!.sink, progress[index]!).done;
        } catch (thrown) {
          throw thrown instanceof NetlinkKernelError ? new NetlinkKernelError(thrown.errno, 'while dumping a network namespace\'s TCP sockets') : thrown;
        }
      },
    );
  } catch (thrown) {
    error = thrown;
  }
  const completed = jobs.map((_, index) => progress.every((p, r) => requests[r]!.job !== index || p.done));
  const firstIncomplete = completed.indexOf(false);
  if (error === undefined && firstIncomplete >= 0) error = new Error('netlink: a namespace dump ended without NLMSG_DONE');
  // Requests run in order: only the first incomplete job can have been cut off mid-dump (or not
  // begun: closing its socket then costs only a reopen).
  return { completed, brokenJob: firstIncomplete >= 0 ? firstIncomplete : undefined, error };
}
