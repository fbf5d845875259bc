/**
 * The dump thread of the netlink source (see netlink-shared.ts for the protocol). It runs the
 * blocking recv() calls, so that however long the kernel takes inside one of them (a single recv
 * can walk a large stretch of the shared hash table), the exporter's event loop keeps serving.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { closeFd, loadLibc, lowerThreadPriority, openDiagSocket, recvDatagram, sendAll, SyscallError } from './ffi.js';
import { AF_UNSPEC, encodeAllFamiliesDumpRequest, encodeDumpRequest, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './parse.js';
import {
  ABORT_INDEX,
  MAX_DATAGRAMS_PER_SLOT,
  RECV_RESERVE,
  SLOT_BYTES,
  SLOT_COUNT,
  SLOT_FREE,
  SLOT_FULL,
  SLOT_STRIDE,
  type DumpCommand,
  type WorkerData,
  type WorkerReply,
} from './shared-memory.js';

const port = parentPort;
if (port === null) throw new Error('netlink-worker.js must run as a worker thread');
const { data, control } = workerData as WorkerData;
const bytes = new Uint8Array(data);
const words = new Uint32Array(data);
const ctrl = new Int32Array(control);

const post = (reply: WorkerReply): void => port.postMessage(reply);

// The event loop (main thread) parses what this thread reads; when the CPUs are busy it must win.
lowerThreadPriority(loadLibc(), 5);

class Aborted extends Error {}

/** Whether this datagram ends the dump: an NLMSG_DONE or NLMSG_ERROR among its messages. */
function endsDump(start: number, length: number): boolean {
  let off = start;
  const end = start + length;
  while (end - off >= NLMSG_HDRLEN) {
    const len = words[off >>> 2]!;
    const type = bytes[off + 4]! | (bytes[off + 5]! << 8);
    if (type === NLMSG_DONE || type === NLMSG_ERROR) return true;
    if (len < NLMSG_HDRLEN) return true; // malformed: let the parser on the main thread say so
    off += (len + 3) & ~3;
  }
  return false;
}

/** Waits until the main thread has handed the slot back. */
function acquire(slot: number, timeoutMs: number): void {
  const at = slot * SLOT_STRIDE;
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(ctrl, at) !== SLOT_FREE) {
    if (Atomics.load(ctrl, ABORT_INDEX) !== 0) throw new Aborted();
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('netlink: the main thread stopped taking dump data');
    Atomics.wait(ctrl, at, SLOT_FULL, Math.min(left, 1000));
  }
}

function dump(command: DumpCommand): void {
  const c = loadLibc();
  let slot = 0;
  for (let r = 0; r < command.requests.length; r++) {
    const { family, seq } = command.requests[r]!;
    const fd = openDiagSocket(c, command.receiveTimeoutMs);
    try {
      sendAll(c, fd, family === AF_UNSPEC ? encodeAllFamiliesDumpRequest(seq) : encodeDumpRequest(family, seq));
      let done = false;
      // Bounded: a dump always ends, but never trust that with an infinite loop.
      for (let fills = 0; !done; fills++) {
        if (fills > 10_000_000) throw new Error('netlink: the dump never ended');
        acquire(slot, command.receiveTimeoutMs * 4);
        const at = slot * SLOT_STRIDE;
        const base = slot * SLOT_BYTES;
        let off = 0;
        let count = 0;
        while (!done && count < MAX_DATAGRAMS_PER_SLOT && SLOT_BYTES - off >= RECV_RESERVE) {
          if (Atomics.load(ctrl, ABORT_INDEX) !== 0) throw new Aborted();
          const n = recvDatagram(c, fd, bytes.subarray(base + off, base + SLOT_BYTES));
          if (n === 0) throw new Error('netlink: the sock_diag socket returned end-of-file in the middle of a dump');
          ctrl[at + 2 + 2 * count] = base + off;
          ctrl[at + 3 + 2 * count] = n;
          count++;
          done = endsDump(base + off, n);
          off += (n + 3) & ~3;
        }
        ctrl[at + 1] = count;
        Atomics.store(ctrl, at, SLOT_FULL);
        post({ type: 'slot', slot, request: r });
        slot = (slot + 1) % SLOT_COUNT;
      }
    } finally {
      closeFd(c, fd);
    }
  }
}

port.on('message', (command: DumpCommand) => {
  if (command.type !== 'dump') return;
  try {
    dump(command);
    post({ type: 'end' });
  } catch (error) {
    if (error instanceof Aborted) post({ type: 'aborted' });
    else if (error instanceof SyscallError) post({ type: 'error', message: error.message, errno: error.errno, syscall: error.syscall });
    else post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
