/**
 * The second reader of the namespaces' counter files (netns-counter-thread.ts drives it). The
 * cost of the counters is the kernel formatting /proc/<pid>/net/{snmp,netstat,sockstat*} on every
 * read (about 60 µs for a netstat here), so on a machine with a second core, this thread and the
 * event loop's each claim the next namespace from a shared index until none is left, and write
 * its counters into the round's shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nameThisThread, THREAD_NAMES } from '../kernel/thread-name.js';
import { WokenThread } from '../kernel/thread-placement.js';
import { readNamespaceCounters, WholeFileReader } from './netns-counter-files.js';
import { COUNTER_SLOTS } from './netns-counters.js';
import { claimJob, COMPLETED, OUTCOME, type CounterJob, type CounterReply, type CounterRequest, type CounterWorkerData } from './netns-counter-protocol.js';

const port = parentPort;
if (port === null) throw new Error('netns-counter-worker.js must run as a worker thread');
nameThisThread(THREAD_NAMES.counterReader);
const reader = new WholeFileReader();
let jobs: readonly CounterJob[] = [];
const self = WokenThread.here((workerData as CounterWorkerData).placement);

port.on('message', (request: CounterRequest) => {
  self?.woken();
  const { id, memory } = request;
  jobs = request.jobs ?? jobs;
  const malformed: CounterReply['malformed'] = [];
  for (let index = claimJob(memory, jobs.length); index !== undefined; index = claimJob(memory, jobs.length)) {
    let outcome: number;
    try {
      outcome = readNamespaceCounters(jobs[index]!, reader, memory.slots, index * COUNTER_SLOTS) ? OUTCOME.read : OUTCOME.unreadable;
    } catch (error) {
      outcome = OUTCOME.malformed;
      malformed.push({ index, message: error instanceof Error ? error.message : String(error) });
    }
    // After the slots: a thread that loads the outcome sees them written.
    Atomics.store(memory.outcomes, index, outcome);
    Atomics.add(memory.control, COMPLETED, 1);
    Atomics.notify(memory.control, COMPLETED);
  }
  self?.idle();
  const reply: CounterReply = { id, malformed };
  port.postMessage(reply);
});
