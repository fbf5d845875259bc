// @ts-check
/**
 * The userspace side of a tcp_info scrape, without the kernel: real INET_DIAG_INFO records (the
 * captures in test/fixtures/netlink/tcpinfo) replicated into 32 KiB datagrams, as a dump of
 * `--records` sockets would arrive, then walked, tcp_info read and folded into per-port
 * TcpInfoSummary slots (histograms, sums, extremes), as the collector will. Prints CPU ns per record (median of --rounds).
 * Run after `npm run build`:
 *
 *   node bench/tcpinfo-parse.mjs [--records=100000] [--rounds=9]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TcpInfoReader } from '../dist/netlink/tcp-info.js';
import { TcpInfoSummary } from '../dist/netlink/tcpinfo-summary.js';

const flag = (/** @type {string} */ name, /** @type {number} */ fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const records = flag('records', 100_000);
const rounds = flag('rounds', 9);
const dir = fileURLToPath(new URL('../test/fixtures/netlink/tcpinfo/', import.meta.url));

/** The captured SOCK_DIAG_BY_FAMILY messages (header included), each as its own byte array. */
const messages = [];
for (const file of readdirSync(dir).filter((f) => f.startsWith('info-')).sort()) {
  const d = readFileSync(dir + file);
  for (let off = 0; off + 16 <= d.length; ) {
    const len = d.readUInt32LE(off);
    if (d.readUInt16LE(off + 4) === 20) messages.push(d.subarray(off, off + len));
    off += (len + 3) & ~3;
  }
}
if (messages.length === 0) throw new Error('no captured records: run from the repository after capturing');

/** @type {Uint8Array[]} */
const datagrams = [];
let current = new Uint8Array(32768);
let used = 0;
for (let i = 0; i < records; i++) {
  const m = messages[i % messages.length];
  if (m === undefined) break;
  if (used + m.length > current.length) {
    datagrams.push(current.subarray(0, used));
    current = new Uint8Array(32768);
    used = 0;
  }
  current.set(m, used);
  used += (m.length + 3) & ~3;
}
datagrams.push(current.subarray(0, used));

const WATCHED = [7001, 7002, 7003, 7004];
const slotOfPort = new Int16Array(65536).fill(-1);
WATCHED.forEach((p, i) => (slotOfPort[p] = i));
const summary = new TcpInfoSummary(WATCHED.length * 2);
const info = new TcpInfoReader();

function scrape() {
  summary.reset();
  let seen = 0;
  for (const d of datagrams) {
    for (let off = 0; off + 16 <= d.length; ) {
      const len = d[off] | (d[off + 1] << 8) | (d[off + 2] << 16) | (d[off + 3] << 24);
      const p = off + 16;
      const localSlot = slotOfPort[(d[p + 4] << 8) | d[p + 5]];
      const remoteSlot = slotOfPort[(d[p + 6] << 8) | d[p + 7]];
      if ((localSlot >= 0 || remoteSlot >= 0) && info.fromInetDiagMessage(d, p, len - 16)) {
        if (localSlot >= 0) summary.add(localSlot * 2, info);
        if (remoteSlot >= 0) summary.add(remoteSlot * 2 + 1, info);
      }
      seen++;
      off += (len + 3) & ~3;
    }
  }
  return seen;
}

const times = [];
for (let r = 0; r < rounds + 2; r++) {
  // CPU time rather than wall time: on a shared machine the wall clock mostly measures the others.
  const t0 = process.cpuUsage();
  const seen = scrape();
  const used = process.cpuUsage(t0);
  const ns = (used.user + used.system) * 1000;
  if (seen !== records) throw new Error(`walked ${seen} of ${records} records`);
  if (r >= 2) times.push(ns); // two warm-up rounds for the JIT
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] ?? 0;
console.log(
  JSON.stringify({ records, datagrams: datagrams.length, bytes: datagrams.reduce((s, d) => s + d.length, 0), medianMs: median / 1e6, minMs: (times[0] ?? 0) / 1e6, nsPerRecord: median / records, observed: summary.rtt.count(0) + summary.rtt.count(1) }),
);
