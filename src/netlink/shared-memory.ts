/**
 * The shared-memory protocol between the netlink source (main thread) and its dump thread
 * (worker.ts). The worker does the recv() calls, in which the kernel does all the work of a dump
 * (walking the whole TCP hash table, every namespace's sockets included), and copies nothing:
 * the kernel writes straight into slots of a SharedArrayBuffer. The main thread parses a full
 * slot while the worker fills the next one.
 *
 * The main thread's parser is the one that walks the messages. The worker reads only their
 * framing, to see the datagram that holds the request's NLMSG_DONE (or NLMSG_ERROR), and then
 * starts the next request at once (dump-end.ts). Before, it waited for the parser's word through
 * COMPLETED_INDEX, a round trip through the event loop per request: at a hundred namespace dumps
 * of a few sockets each, those waits cost more than the kernel's dumps. COMPLETED_INDEX still
 * ends a request the parser saw end first. Otherwise the worker reads without waiting and hands
 * over a slot when it is full, when nothing more is queued, or when the command is done.
 *
 * A slot holds the datagrams of as many requests as fit, one after the other: a namespace with its
 * own hash answers in one small datagram, and handing over a slot per request made the main thread
 * take a message per namespace while the worker, four slots ahead, waited for it to free one
 * (the dumps of 110 such namespaces took twice the kernel's time).
 *
 * Control words (Int32Array over their own SharedArrayBuffer), per slot at slot * SLOT_STRIDE:
 *   [0] state: FREE (the worker may fill it) or FULL (the main thread owns it)
 *   [1] datagram count n, then n triples (start, length, request index): each datagram is parsed
 *       on its own, since a message never spans two datagrams
 * plus two global words: ABORT_INDEX, which the main thread sets to stop a dump early, and
 * COMPLETED_INDEX, the number of this command's requests whose dump the parser saw end.
 */
import type { HelperCell } from '../kernel/thread-placement.js';

export const SLOT_COUNT = 4;
/** Big enough for several 32 KiB skbs; each recv() is offered at least RECV_RESERVE bytes. */
export const SLOT_BYTES = 256 * 1024;
export const RECV_RESERVE = 64 * 1024;
export const MAX_DATAGRAMS_PER_SLOT = 64;
export const SLOT_WORDS_PER_DATAGRAM = 3;
export const SLOT_STRIDE = 2 + SLOT_WORDS_PER_DATAGRAM * MAX_DATAGRAMS_PER_SLOT;
export const ABORT_INDEX = SLOT_COUNT * SLOT_STRIDE;
export const COMPLETED_INDEX = ABORT_INDEX + 1;
export const CONTROL_WORDS = COMPLETED_INDEX + 1;

export const SLOT_FREE = 0;
export const SLOT_FULL = 1;

export interface WorkerData {
  data: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Its placement cell (src/kernel/thread-placement.ts), which it fills in. */
  placement: HelperCell;
}

/** Main thread -> worker. */
export interface DumpCommand {
  type: 'dump';
  /**
   * The dumps to run, in order: each one's encoded request (protocol.ts, info-request.ts) and,
   * optionally, the sock_diag socket to send it on. Without `fd` the worker opens a socket of its
   * own in the process's namespace and closes it after the dump; with one (a socket opened inside
   * another network namespace, netns-socket.ts: descriptors are process-wide) it uses that
   * socket and leaves it open for its owner.
   */
  requests: Array<{ message: Uint8Array; fd?: number | undefined }>;
  receiveTimeoutMs: number;
}

/** Worker -> main thread. */
export type WorkerReply =
  | { type: 'slot'; slot: number }
  | { type: 'end' }
  | { type: 'aborted' }
  | { type: 'error'; message: string; errno?: number; syscall?: string };
