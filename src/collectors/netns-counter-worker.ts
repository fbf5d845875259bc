/**
 * The second reader of the namespaces' counter files (netns-counter-thread.ts drives it). The
 * cost of the counters is the kernel formatting /proc/<pid>/net/{snmp,netstat,sockstat*} on every
 * read (about 70 µs for a netstat here), so on a machine with a second core, this thread and the
 * event loop's each claim the next namespace from a shared index until none is left.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { pathIn, readCounterTexts, WholeFileReader } from './netns-counter-files.js';
import { parseNamespaceCounters } from './netns-counters.js';
import { claimJob, type CounterReply, type CounterRequest, type CounterResult } from './netns-counter-protocol.js';

const port = parentPort;
if (port === null) throw new Error('netns-counter-worker.js must run as a worker thread');
const reader = new WholeFileReader();
// Background work, like the dump thread's (netlink/worker.ts): when the CPUs are busy, the event
// loop must win. On Linux this lowers this thread alone (setpriority on the calling task).
try {
  setPriority(5);
} catch {
  // Not permitted, or not Linux: the reads run at the process's priority.
}

port.on('message', ({ id, jobs, next }: CounterRequest) => {
  const results: CounterResult[] = [];
  for (let index = claimJob(next, jobs.length); index !== undefined; index = claimJob(next, jobs.length)) {
    const job = jobs[index]!;
    const texts = readCounterTexts(job.fds, reader);
    if (texts === undefined) {
      results.push({ index, outcome: 'unreadable' });
      continue;
    }
    try {
      results.push({ index, outcome: 'read', counters: parseNamespaceCounters(texts, (file) => pathIn(job.paths, file)) });
    } catch (error) {
      results.push({ index, outcome: 'malformed', message: error instanceof Error ? error.message : String(error) });
    }
  }
  const reply: CounterReply = { id, results };
  port.postMessage(reply);
});
