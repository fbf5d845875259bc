/**
 * The second reader of the namespaces' counter files (netns-counter-thread.ts drives it). The
 * cost of the counters is the kernel formatting /proc/<pid>/net/{snmp,netstat,sockstat*} on every
 * read (about 70 µs for a netstat here), so on a machine with a second core, half of the
 * namespaces are read and parsed on this thread while the event loop's thread does the other half.
 */
import { parentPort } from 'node:worker_threads';
import { readCounterTexts, WholeFileReader, type CounterFile } from './netns-counter-files.js';
import { parseNamespaceCounters } from './netns-counters.js';
import type { CounterJob, CounterReply, CounterResult } from './netns-counter-thread.js';

const port = parentPort;
if (port === null) throw new Error('netns-counter-worker.js must run as a worker thread');
const reader = new WholeFileReader();

port.on('message', ({ id, jobs }: { id: number; jobs: CounterJob[] }) => {
  const results: CounterResult[] = jobs.map((job) => {
    const texts = readCounterTexts(job.fds, reader);
    if (texts === undefined) return { inode: job.inode, outcome: 'unreadable' };
    try {
      const pathOf = (file: CounterFile): string => job.paths[['sockstat', 'snmp', 'netstat', 'sockstat6'].indexOf(file)] ?? file;
      return { inode: job.inode, outcome: 'read', counters: parseNamespaceCounters(texts, pathOf) };
    } catch (error) {
      return { inode: job.inode, outcome: 'malformed', message: error instanceof Error ? error.message : String(error) };
    }
  });
  const reply: CounterReply = { id, results };
  port.postMessage(reply);
});
