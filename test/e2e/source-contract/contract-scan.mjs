// @ts-check
/**
 * Child process of contract.test.ts, run inside the test's network namespace:
 *   ip netns exec <ns> node test/sources/contract-scan.mjs <attempts>
 * Scans the socket table with netlink (recv() on its worker thread, one walk for both families),
 * procfs, and netlink again (recv() inline, one dump per family), back to back, into one SocketAggregate each, and
 * prints one JSON line with the three summaries. It opens no TCP socket of its own, so it does
 * not change the table it measures. The procfs scan is only comparable when the two netlink
 * scans around it agree (the table did not move in between); it retries up to <attempts> times.
 */
import { readFileSync } from 'node:fs';
import { SocketAggregate } from '../../../dist/aggregate/socket-aggregate.js';
import { endpointOfKey } from '../../../dist/kernel/endpoint-key.js';
import { ProcRoot } from '../../../dist/procfs/proc-root.js';
import { createNetlinkSource } from '../../../dist/netlink/probe.js';
import { ProcfsSource } from '../../../dist/sources/procfs.js';

const attempts = Number(process.argv[2] ?? 5);
const [first, last] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
/** @type {readonly [number, number]} */
const ephemeralRange = [first ?? 32768, last ?? 60999];
const remotePorts = new Set((process.env.CONTRACT_REMOTE_PORTS ?? '').split(',').filter(Boolean).map(Number));

/** Non-zero cells of a [port * width + state] table, as {"port/state": count}. */
function nonZero(/** @type {ArrayLike<number>} */ array, /** @type {number} */ width) {
  /** @type {Record<string, number>} */
  const out = {};
  for (let i = 0; i < array.length; i++) if (array[i]) out[`${Math.floor(i / width)}/${i % width}`] = /** @type {number} */ (array[i]);
  return out;
}

/**
 * @param {import('../../../dist/kernel/socket-record.js').SocketSource} source
 */
async function scan(source) {
  const agg = new SocketAggregate({ ephemeralRange, remotePorts });
  const result = await source.scan(agg);
  return {
    families: result.families,
    listenQueueLimitKnown: result.listenQueueLimitKnown,
    stateCounts: Array.from(agg.stateCounts),
    receiveQueueBytes: Array.from(agg.receiveQueueBytes),
    sendQueueBytes: Array.from(agg.sendQueueBytes),
    keepaliveByState: Array.from(agg.keepaliveByState),
    keepaliveProbing: agg.keepaliveProbing,
    retransmitting: agg.retransmitting,
    localPortStates: nonZero(agg.localPortStates, agg.stateCounts.length / 2),
    remotePortStates: agg.remotePortStates ? nonZero(agg.remotePortStates, agg.stateCounts.length / 2) : null,
    listenQueueLength: Object.fromEntries([...agg.listenQueueLength].sort((a, b) => a[0] - b[0])),
    listenQueueLimit: Object.fromEntries([...agg.listenQueueLimit].sort((a, b) => a[0] - b[0])),
    ephemeralPortsUsed: agg.ephemeralPortsUsed,
    busiestDestination: agg.busiestDestinationSockets(),
    ephemeralDestinationCounts: [...agg.ephemeralByDestination.values()].sort((a, b) => b - a),
    // Keys are the same in every source, so the destinations themselves must agree.
    busiestDestinations: agg.busiestDestinations(10).map(({ key, sockets }) => ({ ...endpointOfKey(key), sockets })),
  };
}

// The two netlink scans differ in every way they can: dump thread + one TCPDIAG_GETSOCK walk,
// then inline recv() + one SOCK_DIAG_BY_FAMILY dump per family.
const netlink = createNetlinkSource({ thread: 'worker' });
const netlinkInline = createNetlinkSource({ thread: 'inline', request: 'per-family' });
if (netlink.mode !== 'worker' || !netlink.singleWalk || netlinkInline.mode !== 'inline' || netlinkInline.singleWalk) {
  throw new Error('netlink sources not set up as asked');
}
const procfs = new ProcfsSource(new ProcRoot('/proc'));
let tries = 0;
/** @type {unknown} */
let out;
for (; tries < attempts; tries++) {
  const n1 = await scan(netlink);
  const p = await scan(procfs);
  const n2 = await scan(netlinkInline);
  out = { netlink: n1, procfs: p, netlinkAgain: n2, attempts: tries + 1, stable: JSON.stringify(n1) === JSON.stringify(n2) };
  if (JSON.stringify(n1) === JSON.stringify(n2)) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
process.stdout.write(JSON.stringify(out) + '\n');
