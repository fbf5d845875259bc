/**
 * The faults of the real-fault test and their near misses: how each namespace is set up, how the
 * fault starts, which alerts must fire (with the labels that name the culprit) and which must
 * never go pending. Every socket comes from fault-sockets.py or syn-flooder.c, in the fault's own
 * namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestNamespace } from '../../helpers/netns.js';
import type { PromSeries } from './monitoring-stack.js';

const faultSockets = fileURLToPath(new URL('./fault-sockets.py', import.meta.url));

export interface FaultContext {
  ns: TestNamespace;
  dir: string;
  /** The compiled syn-flooder.c. */
  flooder: string;
}

export interface Fault {
  /** The namespace's `instance` label. */
  name: string;
  description: string;
  /** sysctl -w arguments for the namespace, set before anything starts. */
  sysctls: string[];
  /** Runs before the exporter starts. */
  prepare?(context: FaultContext): Promise<void>;
  /** Starts the fault (or the near miss); the time to fire counts from here. */
  start(context: FaultContext): Promise<void>;
  stop?(): Promise<void>;
  /** Alerts that must fire: alertname plus the labels they must carry. */
  fires: Record<string, string>[];
  /** Alerts (alertname plus labels) that must never go pending. */
  silent?: Record<string, string>[];
  /** Queries ($instance substituted) that must return data: the near miss really happened. */
  seen?: { what: string; query: string }[];
  /** One line for the test output, from Prometheus ($instance substituted). */
  report?(query: (expr: string) => Promise<PromSeries[]>): Promise<string>;
  /** The fault namespace's exporter, set by the test. */
  exporter?: ChildProcess;
}

/** Starts fault-sockets.py in the namespace and resolves once it prints READY. */
async function sockets(ns: TestNamespace, args: readonly string[]): Promise<ChildProcess> {
  const child = ns.spawn('python3', [faultSockets, ...args]);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fault-sockets ${args.join(' ')}: not ready after 30 s ${stderr}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'READY') {
        clearTimeout(timer);
        resolve();
      } else if (line.startsWith('ERROR ')) {
        clearTimeout(timer);
        reject(new Error(`fault-sockets ${args.join(' ')}: ${line.slice(6)} ${stderr}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fault-sockets ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
  return child;
}

async function end(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

const number = async (query: (expr: string) => Promise<PromSeries[]>, expr: string): Promise<string> => {
  const [series] = await query(expr);
  return series?.value?.[1] === undefined ? 'n/a' : String(Math.round(Number(series.value[1])));
};

/** Spoofed sources: local on loopback, so the kernel takes their SYNs; their SYN-ACKs are dropped. */
const FLOOD_TARGET = '10.99.0.1';
const FLOOD_SOURCES = { base: '10.99.128.0', span: 32768, cidr: '10.99.128.0/17' };
const FLOOD_RATE = 2000;
const FLOOD_COUNT = 60_000; // 30 s at 2,000/s: bounded, and well past detection plus the shortened for:

/**
 * A SYN flood against one listener, as in the report: ~2,000 SYNs/s from spoofed local addresses,
 * SYN-ACKs dropped in OUTPUT. The failed send also fails the request's first SYN-ACK
 * retransmission, so each request lives about a second: SYN_RECV ~ 2,000 unless the backlog is
 * smaller, which is why a backlog of 4096 never fills (no cookies) while 8 and 511 do.
 */
function synFlood(name: string, port: number, backlog: number, cookies: 0 | 1, fires: Record<string, string>[]): Fault {
  const children: ChildProcess[] = [];
  return {
    name,
    description: `${FLOOD_RATE} spoofed SYNs/s at a backlog of ${backlog}, tcp_syncookies=${cookies}, tcp_max_syn_backlog=2048`,
    sysctls: [`net.ipv4.tcp_syncookies=${cookies}`, 'net.ipv4.tcp_max_syn_backlog=2048'],
    async prepare({ ns }) {
      await ns.exec('ip', ['route', 'add', 'local', '10.99.0.0/16', 'dev', 'lo']);
      await ns.exec('iptables', ['-w', '-A', 'OUTPUT', '-p', 'tcp', '--tcp-flags', 'SYN,ACK', 'SYN,ACK', '-d', FLOOD_SOURCES.cidr, '-j', 'DROP']);
      children.push(await sockets(ns, ['listen', FLOOD_TARGET, String(port), String(backlog)]));
    },
    async start({ ns, flooder }) {
      children.push(ns.spawn(flooder, [FLOOD_TARGET, String(port), FLOOD_SOURCES.base, String(FLOOD_SOURCES.span), String(FLOOD_RATE), String(FLOOD_COUNT)]));
    },
    stop: () => end(children),
    fires,
    async report(query) {
      const synRecv = await number(query, `max_over_time(tcpstate_port_sockets{instance="$instance",port="${port}",state="syn_recv"}[5m])`);
      const cookies = await number(query, 'max_over_time(tcpstate_syncookies_sent_total{instance="$instance"}[5m])');
      const drops = await number(query, 'max_over_time(tcpstate_syn_queue_drops_total{instance="$instance"}[5m])');
      return `backlog ${backlog}: SYN_RECV seen up to ${synRecv}, SYN cookies sent ${cookies}, SYN-queue drops ${drops}`;
    },
  };
}

const EPHEMERAL_SYSCTLS = ['net.ipv4.tcp_tw_reuse=0', 'net.ipv4.ip_local_port_range=40000 41999'];

export const FAULTS: readonly Fault[] = [
  synFlood('syn-backlog-8', 8008, 8, 1, [{ alertname: 'TCPSynFlood', port: '8008', severity: 'critical' }]),
  synFlood('syn-backlog-511', 8511, 511, 1, [{ alertname: 'TCPSynFlood', port: '8511', severity: 'critical' }]),
  synFlood('syn-backlog-4096', 8496, 4096, 1, [{ alertname: 'TCPSynFlood', port: '8496', severity: 'critical' }]),
  synFlood('syn-no-cookies', 8511, 511, 0, [
    { alertname: 'TCPSynQueueDrops', severity: 'warning' },
    { alertname: 'TCPSynFlood', port: '8511', severity: 'critical' },
  ]),
  (() => {
    const children: ChildProcess[] = [];
    return {
      name: 'syn-legit-burst',
      description: 'near miss: 10 bursts of 500 connections that complete, on a backlog of 511',
      sysctls: ['net.ipv4.tcp_syncookies=1', 'net.ipv4.tcp_max_syn_backlog=2048'],
      async start({ ns }) {
        children.push(await sockets(ns, ['burst', '127.0.0.1', '8080', '511', '500', '10']));
      },
      stop: () => end(children),
      fires: [],
      silent: [{ alertname: 'TCPSynFlood' }],
      seen: [{ what: 'the bursts completed their handshakes', query: 'increase(tcpstate_passive_opens_total{instance="$instance"}[5m]) > 2000' }],
    } satisfies Fault;
  })(),
  (() => {
    const children: ChildProcess[] = [];
    return {
      name: 'accept-queue',
      description: '40 clients to a listener with a backlog of 8 that never accept()s',
      sysctls: [],
      async start({ ns }) {
        children.push(await sockets(ns, ['accept-queue', '127.0.0.1', '8083', '8', '40']));
      },
      stop: () => end(children),
      fires: [{ alertname: 'TCPListenQueueOverflow', port: '8083', severity: 'warning' }],
    } satisfies Fault;
  })(),
  (() => {
    const children: ChildProcess[] = [];
    return {
      name: 'close-wait',
      description: 'port 8082 leaks CLOSE_WAIT from 20, one more every 3 s; port 8086 spikes to 40 after 7 s and drains 15 s later (near miss)',
      sysctls: [],
      // The leak is at the floor before the exporter's first scrape (see the window note in faults.test.ts).
      async prepare({ ns }) {
        children.push(await sockets(ns, ['close-wait', '127.0.0.1', '8082', '20', '3', '60']));
      },
      async start({ ns }) {
        // 7 s at 0 first: two scrapes below the floor before the spike, so its window starts there.
        children.push(await sockets(ns, ['close-wait-spike', '127.0.0.1', '8086', '7', '40', '15']));
      },
      stop: () => end(children),
      fires: [{ alertname: 'TCPCloseWaitLeak', port: '8082', severity: 'warning' }],
      silent: [{ alertname: 'TCPCloseWaitLeak', port: '8086' }],
      seen: [
        { what: 'the spike reached 40 CLOSE_WAIT', query: 'max_over_time(tcpstate_port_sockets{instance="$instance",port="8086",state="close_wait"}[5m]) >= 40' },
        { what: 'the spike started below the floor', query: 'min_over_time(tcpstate_port_sockets{instance="$instance",port="8086",state="close_wait"}[5m]) == 0' },
        { what: 'the spike drained', query: 'tcpstate_port_sockets{instance="$instance",port="8086",state="close_wait"} == 0' },
      ],
    } satisfies Fault;
  })(),
  (() => {
    const children: ChildProcess[] = [];
    return {
      name: 'ephemeral-ports',
      description: 'short connections to 127.0.0.1:7000 until EADDRNOTAVAIL, tcp_tw_reuse=0, a 2,000-port range',
      sysctls: EPHEMERAL_SYSCTLS,
      async start({ ns }) {
        children.push(await sockets(ns, ['time-wait', '127.0.0.1', '7000', '2500', '2']));
      },
      stop: () => end(children),
      fires: [
        { alertname: 'TCPEphemeralPortExhaustion', severity: 'critical', remote_address: '127.0.0.1', remote_port: '7000' },
        { alertname: 'TCPEphemeralPortExhaustion', severity: 'warning', remote_address: '127.0.0.1', remote_port: '7000' },
      ],
    } satisfies Fault;
  })(),
  (() => {
    const children: ChildProcess[] = [];
    return {
      name: 'time-wait-storm',
      description: 'near miss: a TIME_WAIT storm of 1,000 connections to 127.0.0.1:7000 within a 2,000-port range, tcp_tw_reuse=0',
      sysctls: EPHEMERAL_SYSCTLS,
      async start({ ns }) {
        children.push(await sockets(ns, ['time-wait', '127.0.0.1', '7000', '1000', '0']));
      },
      stop: () => end(children),
      fires: [],
      silent: [{ alertname: 'TCPEphemeralPortExhaustion' }, { alertname: 'TCPTimeWaitBucketsOverflow' }],
      seen: [
        {
          what: 'the storm used half the range towards one destination',
          query: 'max_over_time(tcpstate_ephemeral_destination_usage_ratio{instance="$instance",remote_address="127.0.0.1",remote_port="7000"}[5m]) >= 0.45',
        },
      ],
    } satisfies Fault;
  })(),
  {
    name: 'exporter-killed',
    description: 'the exporter process killed with SIGKILL',
    sysctls: [],
    async start() {
      this.exporter?.kill('SIGKILL');
    },
    fires: [{ alertname: 'TCPStateExporterDown', severity: 'critical' }],
  },
];
