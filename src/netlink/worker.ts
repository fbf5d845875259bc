/**
 * The dump thread of the netlink source (see shared-memory.ts for the protocol). It runs the
 * recv() calls, so that however long the kernel takes inside one of them (a single recv can walk
 * a large stretch of the shared hash table), the exporter's event loop keeps serving.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread, THREAD_NAMES } from '../kernel/thread-name.js';
import { WokenThread } from '../kernel/thread-placement.js';
import { endsDump, requestSeq } from './dump-end.js';
import { SyscallError } from './errors.js';
import { closeFd, loadLibc, lowerThreadPriority, NOTHING_QUEUED, openDiagSocket, recvDatagram, sendAll } from './ffi.js';
import {
  ABORT_INDEX,
  COMPLETED_INDEX,
  MAX_DATAGRAMS_PER_SLOT,
  RECV_RESERVE,
  SLOT_BYTES,
  SLOT_COUNT,
  SLOT_FREE,
  SLOT_FULL,
  SLOT_STRIDE,
  SLOT_WORDS_PER_DATAGRAM,
  type DumpCommand,
  type WorkerData,
  type WorkerReply,
} from './shared-memory.js';

const port = parentPort;
if (port === null) throw new Error('netlink/worker.js must run as a worker thread');
const { data, control, placement } = workerData as WorkerData;
const bytes = new Uint8Array(data);
const words = new Uint32Array(data);
const ctrl = new Int32Array(control);

const post = (reply: WorkerReply): void => port.postMessage(reply);

nameThisThread(THREAD_NAMES.netlinkDump);
// The event loop (main thread) parses what this thread reads; when the CPUs are busy it must win.
lowerThreadPriority(loadLibc(), 5);
const self = WokenThread.here(placement);

class Aborted extends Error {}

/** How long one wait for the parser's verdict lasts before the socket is tried again. */
const RECHECK_MS = 2;

function checkAbort(): void {
  if (Atomics.load(ctrl, ABORT_INDEX) !== 0) throw new Aborted();
}

/** Waits until the main thread has handed the slot back. */
function acquire(slot: number, timeoutMs: number): void {
  const at = slot * SLOT_STRIDE;
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(ctrl, at) !== SLOT_FREE) {
    checkAbort();
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('netlink: the main thread stopped taking dump data');
    Atomics.wait(ctrl, at, SLOT_FULL, Math.min(left, 1000));
  }
}

function dump(command: DumpCommand): void {
  const c = loadLibc();
  // The slot being filled: held from its first datagram until it is handed over (full, nothing
  // queued, or the command done), across requests (shared-memory.ts).
  let slot = 0;
  let held = false;
  let off = 0;
  let count = 0;
  const at = (): number => slot * SLOT_STRIDE;
  const hold = (): void => {
    if (held) return;
    acquire(slot, command.receiveTimeoutMs * 4);
    held = true;
    off = 0;
    count = 0;
  };
  const handOver = (): void => {
    if (held && count > 0) {
      ctrl[at() + 1] = count;
      Atomics.store(ctrl, at(), SLOT_FULL);
      post({ type: 'slot', slot });
      slot = (slot + 1) % SLOT_COUNT;
      held = false;
    }
  };
  const full = (): boolean => count === MAX_DATAGRAMS_PER_SLOT || SLOT_BYTES - off < RECV_RESERVE;

  for (let r = 0; r < command.requests.length; r++) {
    const request = command.requests[r]!;
    const fd = request.fd ?? openDiagSocket(c, command.receiveTimeoutMs);
    try {
      sendAll(c, fd, request.message);
      const seq = requestSeq(request.message);
      // Seen here in the framing (the next request starts at once), or by the parser.
      let ended = false;
      const complete = (): boolean => ended || Atomics.load(ctrl, COMPLETED_INDEX) > r;
      let idleSince = Date.now();
      // Bounded: a dump always ends, but never trust that with an infinite loop.
      for (let fills = 0; !complete(); fills++) {
        if (fills > 10_000_000) throw new Error('netlink: the dump never ended');
        hold();
        const base = slot * SLOT_BYTES;
        let received = 0;
        while (!full()) {
          checkAbort();
          const start = base + off;
          const n = recvDatagram(c, fd, bytes.subarray(start, base + SLOT_BYTES), false);
          if (n === NOTHING_QUEUED) break;
          if (n === 0) throw new Error('netlink: the sock_diag socket returned end-of-file in the middle of a dump');
          const entry = at() + 2 + SLOT_WORDS_PER_DATAGRAM * count;
          ctrl[entry] = start;
          ctrl[entry + 1] = n;
          ctrl[entry + 2] = r;
          count++;
          received++;
          off += (n + 3) & ~3;
          if (endsDump(bytes, words, start, n, seq)) {
            ended = true;
            break;
          }
        }
        if (full()) handOver();
        if (received > 0) {
          idleSince = Date.now();
          continue;
        }
        // Nothing queued: hand over what is held (the parser may be the one to see the end), then
        // the dump is over once the parser says so, or the kernel is slow.
        handOver();
        checkAbort();
        if (Date.now() - idleSince > command.receiveTimeoutMs) throw new Error('netlink: the kernel did not answer the sock_diag dump in time');
        // The parser may still be on an earlier request (this thread moves on when it sees an
        // end itself): wait for any word from it, or the recheck.
        Atomics.wait(ctrl, COMPLETED_INDEX, Atomics.load(ctrl, COMPLETED_INDEX), RECHECK_MS);
      }
    } finally {
      if (request.fd === undefined) closeFd(c, fd);
    }
  }
  handOver();
}

port.on('message', (command: DumpCommand) => {
  if (command.type !== 'dump') return;
  self?.woken();
  let reply: WorkerReply;
  try {
    dump(command);
    reply = { type: 'end' };
  } catch (error) {
    if (error instanceof Aborted) reply = { type: 'aborted' };
    else if (error instanceof SyscallError) reply = { type: 'error', message: error.message, errno: error.errno, syscall: error.syscall };
    else reply = { type: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  // Idle before the reply: the next command's steering must not count this thread as busy.
  self?.idle();
  post(reply);
});
