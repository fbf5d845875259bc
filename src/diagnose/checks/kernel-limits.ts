import { healthy, identity, problem, skipped, type Finding, type Remedy } from '../finding.js';
import { bytes, count, percent } from '../format.js';
import { collectorProblem, type Observation } from '../observation.js';
import { sum, sysctl } from '../snapshot.js';
import { THRESHOLDS } from '../thresholds.js';
import { counterEvidence } from './common.js';

const ORPHANS = identity('orphans', 'TCPOrphanSocketsHigh');
const TCP_MEMORY = identity('tcp_memory', 'TCPMemoryPressure');

/** tcp_max_orphans and tcp_mem exist only in the host's network namespace. */
const HOST_NAMESPACE_ONLY = 'is host-wide and not visible from this network namespace (run diagnose in the host\'s network namespace: hostNetwork: true)';

const ORPHANS_REMEDY: Remedy = {
  application: 'Time out slow or stalled clients so they are closed before they pile up.',
  kernel: 'Lower net.ipv4.tcp_orphan_retries (2-3) and net.ipv4.tcp_fin_timeout (15-30 s); raise net.ipv4.tcp_max_orphans if RAM allows (~64 KB each in the worst case).',
};

const TCP_MEMORY_REMEDY: Remedy = {
  application: 'Find who holds the memory with `ss -tmn`: a large Recv-Q means an application that stopped reading; a large Send-Q, peers that stopped reading (add timeouts).',
  kernel: 'Raise net.ipv4.tcp_mem if the host has RAM to spare; lower the maxima of net.ipv4.tcp_rmem/tcp_wmem to cap each socket.',
};

/** TCPOrphanSocketsHigh: orphans (closed by the application, still in the kernel) near tcp_max_orphans. */
export function checkOrphans(observation: Observation): Finding[] {
  const what = 'Orphaned sockets';
  const missing = collectorProblem(observation, 'sockstat') ?? collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(ORPHANS, what, missing)];
  const { current } = observation;
  const orphans = sum(current, 'tcpstate_sockstat_orphan');
  const limit = sysctl(current, 'net.ipv4.tcp_max_orphans');
  if (orphans === undefined || limit === undefined || limit <= 0) return [skipped(ORPHANS, what, `net.ipv4.tcp_max_orphans ${HOST_NAMESPACE_ONLY}`)];
  const { limitShare, sustained } = THRESHOLDS.orphans;
  const share = orphans / limit;
  const level = `${count(orphans)} orphans of net.ipv4.tcp_max_orphans ${count(limit)} = ${percent(share)}, host-wide (alert above ${percent(limitShare)})`;
  if (share <= limitShare) return [healthy(ORPHANS, `Orphaned sockets: ${level}`)];

  const evidence = [level];
  const states = ['fin_wait1', 'fin_wait2', 'last_ack', 'closing'].map((state) => `${state} ${count(sum(current, 'tcpstate_sockets', { state }) ?? 0)}`);
  if (collectorProblem(observation, 'sockets') === undefined) evidence.push(`closing states in this network namespace: ${states.join(', ')}`);
  const retries = sysctl(current, 'net.ipv4.tcp_orphan_retries');
  const finTimeout = sysctl(current, 'net.ipv4.tcp_fin_timeout');
  if (retries !== undefined && finTimeout !== undefined) evidence.push(`net.ipv4.tcp_orphan_retries = ${retries} (0 means 8), net.ipv4.tcp_fin_timeout = ${finTimeout} s`);
  return [problem(ORPHANS, 'warning', `Orphaned sockets at ${percent(share)} of tcp_max_orphans: the kernel already resets some early`, { evidence, remedy: ORPHANS_REMEDY, sustained })];
}

/** TCPMemoryPressure: TCP memory above the tcp_mem pressure threshold, or near its high limit. */
export function checkTcpMemory(observation: Observation): Finding[] {
  const what = 'TCP memory';
  const missing = collectorProblem(observation, 'sockstat') ?? collectorProblem(observation, 'sysctl');
  if (missing !== undefined) return [skipped(TCP_MEMORY, what, missing)];
  const { current } = observation;
  const used = sum(current, 'tcpstate_sockstat_memory_bytes');
  const pressure = sum(current, 'tcpstate_memory_limit_bytes', { threshold: 'pressure' });
  const high = sum(current, 'tcpstate_memory_limit_bytes', { threshold: 'high' });
  if (used === undefined || pressure === undefined || high === undefined || pressure <= 0 || high <= 0) {
    return [skipped(TCP_MEMORY, what, `net.ipv4.tcp_mem ${HOST_NAMESPACE_ONLY}`)];
  }
  const { pressureShare, highShare, sustained } = THRESHOLDS.tcpMemory;
  const ofPressure = used / pressure;
  const ofHigh = used / high;
  const level = `TCP memory ${bytes(used)}: ${percent(ofPressure)} of the tcp_mem pressure threshold ${bytes(pressure)}, ${percent(ofHigh)} of high ${bytes(high)}`;
  if (ofHigh <= highShare && ofPressure <= pressureShare) return [healthy(TCP_MEMORY, level)];

  const evidence = [`${level} (warning above ${percent(pressureShare)} of pressure, critical above ${percent(highShare)} of high)`];
  if (collectorProblem(observation, 'netstat') === undefined) {
    evidence.push(counterEvidence(observation, 'TCPMemoryPressures (entries into pressure mode)', 'tcpstate_memory_pressures_total'));
    evidence.push(counterEvidence(observation, 'connections aborted for lack of memory (TCPAbortOnMemory)', 'tcpstate_aborts_total', { match: { reason: 'memory' } }));
  }
  if (ofHigh > highShare) {
    return [problem(TCP_MEMORY, 'critical', `TCP memory at ${percent(ofHigh)} of the tcp_mem high limit: allocations are about to fail`, { evidence, remedy: TCP_MEMORY_REMEDY, sustained })];
  }
  return [problem(TCP_MEMORY, 'warning', `TCP memory above the tcp_mem pressure threshold (${percent(ofPressure)}): the kernel is shrinking socket buffers`, { evidence, remedy: TCP_MEMORY_REMEDY, sustained })];
}
