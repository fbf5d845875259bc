/**
 * Generates grafana/tcpstate.json, the tcpstate-exporter dashboard, from plain TypeScript objects.
 *
 * Edit this file, never the JSON. Regenerate with
 *
 *     UPDATE_DASHBOARD=1 npx vitest run test/grafana
 *
 * (vitest transpiles this file; node 20 cannot run TypeScript by itself). Without UPDATE_DASHBOARD
 * the same test fails when the checked-in JSON differs from what this file produces.
 *
 * Conventions:
 * - Every panel and every target uses the `datasource` template variable: no datasource UID is
 *   hard-coded, so the JSON imports into any Grafana 10/11 with any Prometheus datasource.
 * - Every query selects `job=~"$job", instance=~"$instance"` (and `port=~"$port"` where panels are
 *   per port), aggregates `by (instance, ...)` and puts `{{instance}}` in its legend, so the
 *   dashboard works for one host or a whole fleet.
 * - Only raw exporter metrics are queried, not the recording rules: the dashboard works even where
 *   alerts/tcpstate.rules.yml is not loaded. Rates use `$__rate_interval`.
 * - Panels that show what an alert watches carry the alert's threshold (ALERT_THRESHOLDS below,
 *   which test/grafana/dashboard.test.ts checks against the rule file) and a link to its runbook.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const dashboardPath = fileURLToPath(new URL('./tcpstate.json', import.meta.url));

/** The one datasource reference used everywhere: the `datasource` template variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

const RUNBOOKS = 'https://github.com/tcpstate-exporter/tcpstate-exporter/blob/main/docs/runbooks.md#';

/** The label matchers every query starts with. */
const SEL = 'job=~"$job", instance=~"$instance"';
/** The same, for per-port panels. */
const PORT_SEL = `${SEL}, port=~"$port"`;

// --- thresholds shared with alerts/tcpstate.rules.yml ----------------------------------------------

export interface AlertThreshold {
  /** The alert whose expression compares with this number. */
  readonly alert: string;
  readonly severity: 'critical' | 'warning' | 'info';
  /** The comparison as written in the rule, e.g. '>' for `... > 0.25`. */
  readonly op: '>' | '>=' | '<' | '==';
  readonly value: number;
}

/**
 * Numbers the panels colour by, each one the threshold of an alert. When you tune an alert, change
 * the number here too: the dashboard test reads the rule file and fails on a mismatch.
 */
export const ALERT_THRESHOLDS = {
  synBacklog: { alert: 'TCPSynFlood', severity: 'critical', op: '>', value: 0.25 },
  listenQueueFill: { alert: 'TCPListenQueueOverflow', severity: 'warning', op: '>', value: 0.8 },
  closeWait: { alert: 'TCPCloseWaitLeak', severity: 'warning', op: '>=', value: 20 },
  ephemeralWarning: { alert: 'TCPEphemeralPortExhaustion', severity: 'warning', op: '>', value: 0.7 },
  ephemeralCritical: { alert: 'TCPEphemeralPortExhaustion', severity: 'critical', op: '>', value: 0.9 },
  orphans: { alert: 'TCPOrphanSocketsHigh', severity: 'warning', op: '>', value: 0.5 },
  memoryPressure: { alert: 'TCPMemoryPressure', severity: 'warning', op: '>', value: 1 },
  memoryHigh: { alert: 'TCPMemoryPressure', severity: 'critical', op: '>', value: 0.9 },
  retransmitRatio: { alert: 'TCPRetransmissionRateHigh', severity: 'warning', op: '>', value: 0.03 },
  resetsSent: { alert: 'TCPResetStorm', severity: 'warning', op: '>', value: 10 },
  syncookies: { alert: 'TCPSyncookiesDisabled', severity: 'info', op: '==', value: 0 },
  halfOpen: { alert: 'TCPHalfOpenConnections', severity: 'warning', op: '>', value: 100 },
  collectorSuccess: { alert: 'TCPStateCollectorFailing', severity: 'warning', op: '<', value: 0.5 },
} as const satisfies Record<string, AlertThreshold>;

// --- JSON shapes (only what this dashboard uses) ---------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface Target {
  refId: string;
  datasource: typeof DATASOURCE;
  editorMode: 'code';
  expr: string;
  legendFormat: string;
  range: boolean;
  instant: boolean;
  format?: 'time_series' | 'table';
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: typeof DATASOURCE;
  gridPos: GridPos;
  targets?: Target[];
  fieldConfig?: { defaults: { [key: string]: Json }; overrides: Json[] };
  options?: { [key: string]: Json };
  transformations?: Json[];
  links?: Json[];
  collapsed?: boolean;
  panels?: Panel[];
}

// --- small builders -------------------------------------------------------------------------------

/** One PromQL query; `legend` is Grafana's legendFormat ({{label}}). */
function target(expr: string, legend: string): Omit<Target, 'refId'> {
  return { datasource: DATASOURCE, editorMode: 'code', expr, legendFormat: legend, range: true, instant: false };
}

/** An instant query shown as a table (one row per series, labels as columns). */
function tableTarget(expr: string): Omit<Target, 'refId'> {
  return { datasource: DATASOURCE, editorMode: 'code', expr, legendFormat: '__auto', range: false, instant: true, format: 'table' };
}

type Color = 'green' | 'orange' | 'red' | 'blue' | 'text';

/** Threshold steps: a base colour, then [colour, from-value] pairs. */
function steps(base: Color, ...rest: [Color, number][]): Json {
  return { mode: 'absolute', steps: [{ color: base, value: null }, ...rest.map(([color, value]) => ({ color, value }))] };
}

const NO_THRESHOLDS = steps('green');

/** Green below the alert's threshold, its severity's colour from it on. */
function alertSteps(...thresholds: AlertThreshold[]): Json {
  const colour = (t: AlertThreshold): Color => (t.severity === 'critical' ? 'red' : t.severity === 'warning' ? 'orange' : 'blue');
  return steps('green', ...thresholds.map((t): [Color, number] => [colour(t), t.value]));
}

function runbookLink(alert: string): Json {
  return { title: `Runbook: ${alert}`, url: RUNBOOKS + alert.toLowerCase(), targetBlank: true };
}

/** Series whose legend ends in "limit" are drawn dashed: they are the kernel's limit, not a count. */
const LIMIT_DASHED: Json = {
  matcher: { id: 'byRegexp', options: '.*limit.*' },
  properties: [
    { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    { id: 'custom.fillOpacity', value: 0 },
    { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
  ],
};

interface PanelSpec {
  title: string;
  description: string;
  /** Width in grid columns (of 24) and height in grid rows. */
  w: number;
  h?: number;
  targets: Omit<Target, 'refId'>[];
  unit?: string;
  thresholds?: Json;
  /** Draw the thresholds on the graph (time series only). */
  thresholdStyle?: 'line' | 'dashed' | 'area' | 'line+area';
  min?: number;
  max?: number;
  decimals?: number;
  mappings?: Json[];
  overrides?: Json[];
  links?: Json[];
  stack?: boolean;
  /** Stat panels: draw the sparkline (default true; off for settings, which rarely change). */
  sparkline?: boolean;
}

type Built = Omit<Panel, 'id' | 'gridPos'> & { w: number; h: number };

function withRefIds(targets: Omit<Target, 'refId'>[]): Target[] {
  return targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t }));
}

function timeseries(spec: PanelSpec): Built {
  return {
    type: 'timeseries',
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    w: spec.w,
    h: spec.h ?? 8,
    targets: withRefIds(spec.targets),
    fieldConfig: {
      defaults: {
        unit: spec.unit ?? 'short',
        ...(spec.min === undefined ? { min: 0 } : { min: spec.min }),
        ...(spec.max === undefined ? {} : { max: spec.max }),
        ...(spec.decimals === undefined ? {} : { decimals: spec.decimals }),
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: spec.stack ? 30 : 10,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: spec.stack ? 'normal' : 'none', group: 'A' },
          thresholdsStyle: { mode: spec.thresholdStyle ?? 'off' },
        },
        thresholds: spec.thresholds ?? NO_THRESHOLDS,
        mappings: spec.mappings ?? [],
      },
      overrides: spec.overrides ?? [],
    },
    options: {
      legend: { showLegend: true, displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    ...(spec.links ? { links: spec.links } : {}),
  };
}

function stat(spec: PanelSpec): Built {
  return {
    type: 'stat',
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    w: spec.w,
    h: spec.h ?? 4,
    targets: withRefIds(spec.targets),
    fieldConfig: {
      defaults: {
        unit: spec.unit ?? 'short',
        ...(spec.decimals === undefined ? {} : { decimals: spec.decimals }),
        color: { mode: 'thresholds' },
        thresholds: spec.thresholds ?? NO_THRESHOLDS,
        mappings: spec.mappings ?? [],
      },
      overrides: spec.overrides ?? [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: spec.sparkline === false ? 'none' : 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
    },
    ...(spec.links ? { links: spec.links } : {}),
  };
}

interface TableSpec {
  title: string;
  description: string;
  w: number;
  h?: number;
  target: Omit<Target, 'refId'>;
  transformations: Json[];
  unit?: string;
}

function table(spec: TableSpec): Built {
  return {
    type: 'table',
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    w: spec.w,
    h: spec.h ?? 8,
    targets: withRefIds([spec.target]),
    fieldConfig: {
      defaults: { unit: spec.unit ?? 'none', thresholds: NO_THRESHOLDS, mappings: [], custom: { align: 'auto', cellOptions: { type: 'auto' } } },
      overrides: [],
    },
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } },
    transformations: spec.transformations,
  };
}

interface Row {
  title: string;
  panels: Built[];
}

function row(title: string, ...panels: Built[]): Row {
  return { title, panels };
}

/** Places rows and their panels on the 24-column grid, left to right, wrapping; numbers the ids. */
function layout(rows: Row[]): Panel[] {
  const out: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const { title, panels } of rows) {
    out.push({ id: id++, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const { w, h, ...panel } of panels) {
      if (x + w > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      out.push({ id: id++, ...panel, gridPos: { h, w, x, y } });
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
  }
  return out;
}

// --- query helpers -------------------------------------------------------------------------------

/** `tcpstate_sysctl` of one name (a scalar sysctl), one series per instance. */
function sysctl(name: string, extra = ''): string {
  return `max by (instance) (tcpstate_sysctl{${SEL}, name="${name}"${extra}})`;
}

/** Per-second rate of a counter, summed per instance (and `by` labels). */
function rate(counter: string, by = 'instance'): string {
  return `sum by (${by}) (rate(${counter}{${SEL}}[$__rate_interval]))`;
}

/** Sockets in one state per instance, both address families. */
function sockets(state: string): string {
  return `sum by (instance) (tcpstate_sockets{${SEL}, state="${state}"})`;
}

const T = ALERT_THRESHOLDS;

// --- the rows ------------------------------------------------------------------------------------

function overview(): Row {
  const stateStat = (title: string, state: string, description: string, extra: Partial<PanelSpec> = {}): Built =>
    stat({ title, description, w: 3, targets: [target(sockets(state), '{{instance}}')], ...extra });
  return row(
    'Overview: socket states',
    stateStat('Established', 'established', 'Sockets in ESTABLISHED, IPv4 and IPv6 together (tcpstate_sockets).'),
    stateStat('Listening', 'listen', 'Listening sockets (one per listen() call; SO_REUSEPORT groups count each socket).'),
    stateStat('TIME_WAIT', 'time_wait', 'Sockets in TIME_WAIT: closed by this side first, held 60 s. Many of them come from short-lived outgoing connections.'),
    stateStat('CLOSE_WAIT', 'close_wait', 'Sockets in CLOSE_WAIT: the peer closed, the application has not. They never time out; see the CLOSE_WAIT row for the port and process.'),
    stateStat('SYN_RECV', 'syn_recv', 'Half-open incoming connections (request sockets included): handshakes waiting for the client\'s final ACK. See the SYN flood row.'),
    stat({
      title: 'Orphans ÷ tcp_max_orphans',
      description: `Orphaned sockets (closed by their application, still finishing in the kernel) as a share of net.ipv4.tcp_max_orphans. TCPOrphanSocketsHigh fires above ${T.orphans.value * 100}%.`,
      w: 3,
      unit: 'percentunit',
      decimals: 1,
      targets: [target(`max by (instance) (tcpstate_sockstat_orphan{${SEL}}) / ${sysctl('net.ipv4.tcp_max_orphans')}`, '{{instance}}')],
      thresholds: alertSteps(T.orphans),
      links: [runbookLink(T.orphans.alert)],
    }),
    stat({
      title: 'TCP memory ÷ tcp_mem pressure',
      description: `TCP buffer memory as a share of the tcp_mem "pressure" threshold. Above 100% the kernel is in memory-pressure mode and shrinks socket buffers (TCPMemoryPressure, warning).`,
      w: 3,
      unit: 'percentunit',
      decimals: 1,
      targets: [target(`max by (instance) (tcpstate_sockstat_memory_bytes{${SEL}}) / max by (instance) (tcpstate_memory_limit_bytes{${SEL}, threshold="pressure"})`, '{{instance}}')],
      thresholds: alertSteps(T.memoryPressure),
      links: [runbookLink(T.memoryPressure.alert)],
    }),
    stat({
      title: 'TCP memory ÷ tcp_mem high',
      description: `TCP buffer memory as a share of the tcp_mem "high" limit, where allocations fail. TCPMemoryPressure (critical) fires above ${T.memoryHigh.value * 100}%.`,
      w: 3,
      unit: 'percentunit',
      decimals: 1,
      targets: [target(`max by (instance) (tcpstate_sockstat_memory_bytes{${SEL}}) / max by (instance) (tcpstate_memory_limit_bytes{${SEL}, threshold="high"})`, '{{instance}}')],
      thresholds: alertSteps(T.memoryHigh),
      links: [runbookLink(T.memoryHigh.alert)],
    }),
    timeseries({
      title: 'Sockets by state',
      description: 'Every TCP socket in the host\'s network namespace by state, IPv4 and IPv6 together. LISTEN sockets are left out so that the connection states keep their scale.',
      w: 12,
      stack: true,
      targets: [target(`sum by (instance, state) (tcpstate_sockets{${SEL}, state!="listen"})`, '{{instance}} {{state}}')],
    }),
    timeseries({
      title: 'Connections opened',
      description: 'New connections per second: active opens (this host called connect()), passive opens (a listener completed a handshake), and failed connection attempts.',
      w: 12,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_active_opens_total'), '{{instance}} active (outgoing)'),
        target(rate('tcpstate_passive_opens_total'), '{{instance}} passive (incoming)'),
        target(rate('tcpstate_attempt_fails_total'), '{{instance}} attempts failed'),
      ],
    }),
    timeseries({
      title: 'Sockets in use (sockstat)',
      description: 'The kernel\'s own counts from /proc/net/sockstat: sockets in use per family (TIME_WAIT and request sockets excluded), allocated, orphaned and TIME_WAIT buckets. Orphans and alloc are host-wide even in a container.',
      w: 6,
      targets: [
        target(`sum by (instance, family) (tcpstate_sockstat_inuse{${SEL}})`, '{{instance}} in use {{family}}'),
        target(`max by (instance) (tcpstate_sockstat_alloc{${SEL}})`, '{{instance}} allocated'),
        target(`max by (instance) (tcpstate_sockstat_orphan{${SEL}})`, '{{instance}} orphaned'),
        target(`max by (instance) (tcpstate_sockstat_tw{${SEL}})`, '{{instance}} time_wait buckets'),
      ],
    }),
    timeseries({
      title: 'TCP memory vs tcp_mem',
      description: 'Memory used by TCP socket buffers, with the tcp_mem thresholds (dashed): above "pressure" the kernel shrinks buffers, at "high" it refuses allocations.',
      w: 6,
      unit: 'bytes',
      targets: [
        target(`max by (instance) (tcpstate_sockstat_memory_bytes{${SEL}})`, '{{instance}} in use'),
        target(`max by (instance, threshold) (tcpstate_memory_limit_bytes{${SEL}, threshold=~"pressure|high"})`, '{{instance}} {{threshold}} limit'),
      ],
      overrides: [LIMIT_DASHED],
    }),
    timeseries({
      title: 'TCP memory pressure entries',
      description: 'How often per second TCP entered memory-pressure mode (TcpExt TCPMemoryPressures): each entry shrinks socket buffers on every connection. Zero on a healthy host.',
      w: 6,
      unit: 'cps',
      targets: [target(rate('tcpstate_memory_pressures_total'), '{{instance}}')],
      links: [runbookLink(T.memoryPressure.alert)],
    }),
    timeseries({
      title: 'Bytes queued by state',
      description: 'Receive queues (received, not yet read by the application) and send queues (sent, not yet acknowledged) summed by state; LISTEN sockets excluded. A growing receive queue means a slow reader, a growing send queue a slow peer or path.',
      w: 6,
      unit: 'bytes',
      targets: [
        target(`sum by (instance, state) (tcpstate_receive_queue_bytes{${SEL}}) > 0`, '{{instance}} receive {{state}}'),
        target(`sum by (instance, state) (tcpstate_send_queue_bytes{${SEL}}) > 0`, '{{instance}} send {{state}}'),
      ],
    }),
  );
}

function synFlood(): Row {
  return row(
    'SYN flood',
    timeseries({
      title: 'SYN_RECV vs tcp_max_syn_backlog',
      description: 'Half-open incoming connections (SYN_RECV, request sockets included) against net.ipv4.tcp_max_syn_backlog (dashed). A flood pushes the count toward the limit.',
      w: 9,
      targets: [
        target(sockets('syn_recv'), '{{instance}} syn_recv'),
        target(sysctl('net.ipv4.tcp_max_syn_backlog'), '{{instance}} tcp_max_syn_backlog limit'),
      ],
      overrides: [LIMIT_DASHED],
    }),
    timeseries({
      title: 'SYN backlog usage',
      description: `SYN_RECV sockets as a share of tcp_max_syn_backlog. TCPSynFlood fires above ${T.synBacklog.value * 100}% while SYN cookies are sent or SYNs dropped.`,
      w: 9,
      unit: 'percentunit',
      targets: [target(`${sockets('syn_recv')} / ${sysctl('net.ipv4.tcp_max_syn_backlog')}`, '{{instance}}')],
      thresholds: alertSteps(T.synBacklog),
      thresholdStyle: 'line+area',
      links: [runbookLink(T.synBacklog.alert)],
    }),
    stat({
      title: 'tcp_syncookies',
      description: 'net.ipv4.tcp_syncookies: 0 = off (a full SYN queue drops SYNs, TCPSyncookiesDisabled), 1 = sent when the SYN queue overflows (the default), 2 = always.',
      w: 6,
      h: 8,
      sparkline: false,
      targets: [target(sysctl('net.ipv4.tcp_syncookies'), '{{instance}}')],
      thresholds: steps('red', ['green', 1]),
      mappings: [{ type: 'value', options: { '0': { text: 'off', color: 'red', index: 0 }, '1': { text: 'on overflow', color: 'green', index: 1 }, '2': { text: 'always', color: 'green', index: 2 } } }],
      links: [runbookLink(T.syncookies.alert)],
    }),
    timeseries({
      title: 'SYN cookies',
      description: 'SYN cookies sent (the SYN queue was full and the kernel answered statelessly), received back (valid ACKs) and failed (invalid cookies: often a flood of forged ACKs), and SYN-queue overflows answered with a cookie.',
      w: 12,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_syncookies_sent_total'), '{{instance}} sent'),
        target(rate('tcpstate_syncookies_received_total'), '{{instance}} received'),
        target(rate('tcpstate_syncookies_failed_total'), '{{instance}} failed'),
        target(rate('tcpstate_syn_queue_cookies_total'), '{{instance}} SYN queue full, cookie sent'),
      ],
    }),
    timeseries({
      title: 'SYN queue drops and SYN retransmits',
      description: 'SYNs dropped because the SYN queue was full and no cookie could be sent (TCPSynQueueDrops fires on any), and SYN/SYN-ACK retransmissions (handshakes that needed a second try).',
      w: 12,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_syn_queue_drops_total'), '{{instance}} SYN queue drops'),
        target(rate('tcpstate_syn_retransmits_total'), '{{instance}} SYN retransmits'),
      ],
      links: [runbookLink('TCPSynQueueDrops')],
    }),
  );
}

function acceptQueues(): Row {
  return row(
    'Accept queues by port',
    timeseries({
      title: 'Accept queue length vs backlog',
      description: 'Completed handshakes waiting for accept(), per listening port, with the listen() backlog (dashed; netlink source only). A queue at its limit makes the kernel drop new handshakes.',
      w: 12,
      targets: [
        target(`sum by (instance, port) (tcpstate_listen_queue_length{${PORT_SEL}})`, '{{instance}} :{{port}} queued'),
        target(`sum by (instance, port) (tcpstate_listen_queue_max{${PORT_SEL}})`, '{{instance}} :{{port}} backlog limit'),
      ],
      overrides: [LIMIT_DASHED],
    }),
    timeseries({
      title: 'Accept queue fill',
      description: `Accept-queue length as a share of its backlog, per port (netlink source only). TCPListenQueueOverflow names the ports above ${T.listenQueueFill.value * 100}% while overflows happen.`,
      w: 12,
      unit: 'percentunit',
      targets: [
        target(
          `sum by (instance, port) (tcpstate_listen_queue_length{${PORT_SEL}}) / sum by (instance, port) (tcpstate_listen_queue_max{${PORT_SEL}})`,
          '{{instance}} :{{port}}',
        ),
      ],
      thresholds: alertSteps(T.listenQueueFill),
      thresholdStyle: 'line+area',
      links: [runbookLink(T.listenQueueFill.alert)],
    }),
    timeseries({
      title: 'Accept queue overflows and listen drops',
      description: 'Handshakes dropped because an accept queue was full (ListenOverflows; TCPListenQueueOverflow fires on any that keep coming), and every SYN or handshake dropped at a listener (ListenDrops, overflows included).',
      w: 12,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_listen_overflows_total'), '{{instance}} overflows'),
        target(rate('tcpstate_listen_drops_total'), '{{instance}} drops'),
      ],
      links: [runbookLink(T.listenQueueFill.alert)],
    }),
    timeseries({
      title: 'Established connections by port',
      description: 'Established connections per watched local port (every listening port plus --collector.sockets.ports; ports beyond the cap are summed into "other").',
      w: 12,
      targets: [target(`sum by (instance, port) (tcpstate_port_sockets{${PORT_SEL}, state="established"})`, '{{instance}} :{{port}}')],
    }),
  );
}

function closeWait(): Row {
  return row(
    'CLOSE_WAIT by port and process',
    timeseries({
      title: 'CLOSE_WAIT by port',
      description: `CLOSE_WAIT sockets per local port: the peer closed, the application on this port never called close(). TCPCloseWaitLeak fires when a port stays at ${T.closeWait.value} or more without draining.`,
      w: 12,
      targets: [target(`sum by (instance, port) (tcpstate_port_sockets{${PORT_SEL}, state="close_wait"})`, '{{instance}} :{{port}}')],
      thresholds: alertSteps(T.closeWait),
      thresholdStyle: 'dashed',
      links: [runbookLink(T.closeWait.alert)],
    }),
    timeseries({
      title: 'CLOSE_WAIT by process',
      description: 'CLOSE_WAIT sockets per owning process name (comm), to find who leaks. Needs --collector.process (opt-in) and permission to read other processes\' /proc/<pid>/fd; without it the sockets show as "unknown".',
      w: 12,
      targets: [target(`sum by (instance, process) (tcpstate_process_sockets{${SEL}, state="close_wait"})`, '{{instance}} {{process}}')],
      thresholds: alertSteps(T.closeWait),
      thresholdStyle: 'dashed',
      links: [runbookLink(T.closeWait.alert)],
    }),
  );
}

function timeWait(): Row {
  const rangeSize = `(max by (instance) (tcpstate_sysctl{${SEL}, name="net.ipv4.ip_local_port_range", index="1"}) - max by (instance) (tcpstate_sysctl{${SEL}, name="net.ipv4.ip_local_port_range", index="0"}) + 1)`;
  return row(
    'TIME_WAIT and ephemeral ports',
    timeseries({
      title: 'TIME_WAIT vs tcp_max_tw_buckets',
      description: 'Sockets in TIME_WAIT, the kernel\'s TIME_WAIT buckets (sockstat tw: TIME_WAIT plus orphaned FIN_WAIT2), and net.ipv4.tcp_max_tw_buckets (dashed): past it closing sockets skip TIME_WAIT.',
      w: 8,
      targets: [
        target(sockets('time_wait'), '{{instance}} time_wait'),
        target(`max by (instance) (tcpstate_sockstat_tw{${SEL}})`, '{{instance}} buckets (sockstat)'),
        target(sysctl('net.ipv4.tcp_max_tw_buckets'), '{{instance}} tcp_max_tw_buckets limit'),
      ],
      overrides: [LIMIT_DASHED],
    }),
    timeseries({
      title: 'Ephemeral ports in use vs the range',
      description: 'Sockets whose local port is inside net.ipv4.ip_local_port_range, all destinations together, against the size of the range (dashed). One destination can run out long before this total does: see the next panel.',
      w: 8,
      targets: [
        target(`max by (instance) (tcpstate_ephemeral_ports_used{${SEL}})`, '{{instance}} in use'),
        target(rangeSize, '{{instance}} range size limit'),
      ],
      overrides: [LIMIT_DASHED],
    }),
    timeseries({
      title: 'Busiest destination: share of the range',
      description: `Sockets to the busiest destination (remote address and port) with an ephemeral local port, as a share of the range. connect() to it fails at 100%. TCPEphemeralPortExhaustion: warning above ${T.ephemeralWarning.value * 100}%, critical above ${T.ephemeralCritical.value * 100}%.`,
      w: 8,
      unit: 'percentunit',
      max: 1,
      targets: [target(`max by (instance) (tcpstate_ephemeral_port_usage_ratio{${SEL}})`, '{{instance}}')],
      thresholds: alertSteps(T.ephemeralWarning, T.ephemeralCritical),
      thresholdStyle: 'line+area',
      links: [runbookLink(T.ephemeralWarning.alert)],
    }),
    timeseries({
      title: 'TIME_WAIT overflow, recycled and killed',
      description: 'TIME_WAIT sockets not created because tcp_max_tw_buckets was full (overflow; TCPTimeWaitBucketsOverflow fires on any), reused for a new connection (recycled), and killed early (by an RST, or by tcp_tw_reuse/PAWS).',
      w: 12,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_time_wait_overflow_total'), '{{instance}} overflow'),
        target(rate('tcpstate_time_wait_recycled_total'), '{{instance}} recycled'),
        target(rate('tcpstate_time_wait_killed_total'), '{{instance}} killed'),
      ],
      links: [runbookLink('TCPTimeWaitBucketsOverflow')],
    }),
    timeseries({
      title: 'Outgoing connections by remote port',
      description: 'Client-side sockets by remote port and state, for the ports given with --collector.sockets.remote-ports (connection pools to databases and upstreams). Empty unless that flag is set.',
      w: 12,
      targets: [
        target(
          `sum by (instance, port, state) (tcpstate_remote_port_sockets{${SEL}, state=~"established|syn_sent|time_wait|close_wait|fin_wait2"})`,
          '{{instance}} :{{port}} {{state}}',
        ),
      ],
    }),
  );
}

function keepalive(): Row {
  const setting = (title: string, name: string, unit: string, description: string): Built =>
    stat({ title, description, w: 6, unit, sparkline: false, targets: [target(sysctl(name), '{{instance}}')] });
  return row(
    'Keepalive',
    setting('tcp_keepalive_time', 'net.ipv4.tcp_keepalive_time', 's', 'Idle time before the first keepalive probe, for sockets with SO_KEEPALIVE and no per-socket TCP_KEEPIDLE.'),
    setting('tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_intvl', 's', 'Time between unanswered keepalive probes.'),
    setting('tcp_keepalive_probes', 'net.ipv4.tcp_keepalive_probes', 'none', 'Unanswered probes after which the connection is dropped.'),
    stat({
      title: 'Worst-case dead-peer detection',
      description: 'tcp_keepalive_time + tcp_keepalive_intvl × tcp_keepalive_probes: how long a vanished peer can hold a keepalive socket with the host defaults.',
      w: 6,
      unit: 's',
      sparkline: false,
      targets: [target(`max by (instance) (tcpstate_keepalive_detection_seconds{${SEL}})`, '{{instance}}')],
    }),
    timeseries({
      title: 'Sockets with keepalive armed',
      description: 'Sockets whose keepalive timer is armed, by state. Connections without keepalive never notice a peer that vanished silently.',
      w: 8,
      targets: [target(`sum by (instance, state) (tcpstate_keepalive_sockets{${SEL}}) > 0`, '{{instance}} {{state}}')],
    }),
    timeseries({
      title: 'Sockets probing a silent peer',
      description: `Sockets with unanswered keepalive probes: the peer probably vanished without FIN or RST (half-open). TCPHalfOpenConnections fires above ${T.halfOpen.value}.`,
      w: 8,
      targets: [target(`max by (instance) (tcpstate_keepalive_probing_sockets{${SEL}})`, '{{instance}}')],
      thresholds: alertSteps(T.halfOpen),
      thresholdStyle: 'dashed',
      links: [runbookLink(T.halfOpen.alert)],
    }),
    timeseries({
      title: 'Keepalive probes sent',
      description: 'Keepalive probes sent per second (TcpExt TCPKeepAlive).',
      w: 8,
      unit: 'cps',
      targets: [target(rate('tcpstate_keepalive_probes_total'), '{{instance}}')],
    }),
  );
}

function retransmits(): Row {
  return row(
    'Retransmissions, resets and aborts',
    timeseries({
      title: 'Retransmitted share of segments sent',
      description: `Retransmitted segments per segment sent. Healthy hosts stay well under 1%. TCPRetransmissionRateHigh fires above ${T.retransmitRatio.value * 100}% with more than 100 segments/s sent.`,
      w: 12,
      unit: 'percentunit',
      targets: [target(`${rate('tcpstate_retransmitted_segments_total')} / ${rate('tcpstate_segments_sent_total')}`, '{{instance}}')],
      thresholds: alertSteps(T.retransmitRatio),
      thresholdStyle: 'line+area',
      links: [runbookLink(T.retransmitRatio.alert)],
    }),
    timeseries({
      title: 'Segments',
      description: 'TCP segments received, sent and retransmitted per second, and segments received with errors (bad checksum and the like).',
      w: 12,
      unit: 'pps',
      targets: [
        target(rate('tcpstate_segments_received_total'), '{{instance}} received'),
        target(rate('tcpstate_segments_sent_total'), '{{instance}} sent'),
        target(rate('tcpstate_retransmitted_segments_total'), '{{instance}} retransmitted'),
        target(rate('tcpstate_receive_errors_total'), '{{instance}} receive errors'),
      ],
    }),
    timeseries({
      title: 'Retransmitting sockets and timeouts',
      description: 'Sockets retransmitting right now (a retransmit timer with at least one retransmission), and retransmission timeouts per second (TCPTimeouts).',
      w: 8,
      targets: [
        target(`max by (instance) (tcpstate_retransmitting_sockets{${SEL}})`, '{{instance}} sockets retransmitting'),
        target(rate('tcpstate_timeouts_total'), '{{instance}} timeouts/s'),
      ],
      overrides: [{ matcher: { id: 'byRegexp', options: '.*timeouts/s' }, properties: [{ id: 'unit', value: 'cps' }] }],
    }),
    timeseries({
      title: 'Resets',
      description: `RST segments sent per second (TCPResetStorm fires above ${T.resetsSent.value}/s when that is 5× the host's daily median), and connections reset while ESTABLISHED or CLOSE_WAIT.`,
      w: 8,
      unit: 'cps',
      targets: [
        target(rate('tcpstate_resets_sent_total'), '{{instance}} RST sent'),
        target(rate('tcpstate_established_resets_total'), '{{instance}} established reset'),
      ],
      thresholds: alertSteps(T.resetsSent),
      thresholdStyle: 'dashed',
      links: [runbookLink(T.resetsSent.alert)],
    }),
    timeseries({
      title: 'Aborts by reason',
      description: 'Connections the kernel aborted with an RST, by reason: data (closed with unread data), close, memory, timeout, linger, failed (the RST could not be sent).',
      w: 8,
      unit: 'cps',
      targets: [target(rate('tcpstate_aborts_total', 'instance, reason'), '{{instance}} {{reason}}')],
    }),
  );
}

function sysctlTable(): Row {
  // One row per sysctl (multi-value ones as name[index]), one column per instance.
  const named = `label_replace(label_replace(label_join(tcpstate_sysctl{${SEL}}, "sysctl", "#", "name", "index"), "sysctl", "$1[$2]", "sysctl", "(.+)#(.+)"), "sysctl", "$1", "sysctl", "(.+)#")`;
  return row(
    'Sysctl tunables',
    table({
      title: 'TCP sysctls by instance',
      description: 'The TCP tunables the exporter reads (plus any --collector.sysctl.include), one row per sysctl and one column per instance, as the kernel writes them. Multi-value sysctls show one row per position: tcp_mem[0..2] (pages), tcp_rmem/tcp_wmem[0..2] (bytes), ip_local_port_range[0..1].',
      w: 24,
      h: 14,
      target: tableTarget(`max by (instance, sysctl) (${named})`),
      transformations: [{ id: 'groupingToMatrix', options: { columnField: 'instance', rowField: 'sysctl', valueField: 'Value', emptyValue: 'empty' } }],
    }),
  );
}

function exporterHealth(): Row {
  return row(
    'Exporter',
    timeseries({
      title: 'Collector success',
      description: `Share of scrapes in which each collector succeeded. TCPStateCollectorFailing fires when it stays below ${T.collectorSuccess.value * 100}% over 15 minutes; the exporter logs one line per failure with the collector's name.`,
      w: 6,
      unit: 'percentunit',
      max: 1,
      targets: [target(`avg by (instance, collector) (avg_over_time(tcpstate_scrape_collector_success{${SEL}}[$__rate_interval]))`, '{{instance}} {{collector}}')],
      thresholds: steps('red', ['green', T.collectorSuccess.value]),
      thresholdStyle: 'area',
      links: [runbookLink(T.collectorSuccess.alert)],
    }),
    timeseries({
      title: 'Collector duration',
      description: 'Time each collector took in a scrape. The sockets collector grows with the number of sockets on the host (every network namespace shares the kernel\'s hash table).',
      w: 6,
      unit: 's',
      targets: [target(`max by (instance, collector) (tcpstate_scrape_collector_duration_seconds{${SEL}})`, '{{instance}} {{collector}}')],
    }),
    timeseries({
      title: 'Processes the exporter could not read',
      description: 'With --collector.process: processes whose /proc/<pid>/fd the exporter could not read in a scrape (no permission, or the process exited mid-walk). Their sockets count as process="unknown". Run the exporter as root (or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) to attribute them.',
      w: 6,
      targets: [target(`max by (instance) (tcpstate_process_unreadable{${SEL}})`, '{{instance}}')],
    }),
    table({
      title: 'Exporter build',
      description: 'Exporter version, Node.js version and the socket source in use (netlink is the fast path; procfs has no accept-queue limits).',
      w: 6,
      target: tableTarget(`max by (instance, version, node_version, source) (tcpstate_build_info{${SEL}})`),
      transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true }, indexByName: { instance: 0, version: 1, node_version: 2, source: 3 }, renameByName: {} } }],
    }),
  );
}

// --- template variables and the dashboard ------------------------------------------------------------

/** Grafana's variable sort orders used here. */
const SORT_ALPHABETICAL = 1;
const SORT_NUMERICAL = 3; // ports: 80 < 443 < 8080

function queryVariable(name: string, label: string, query: string, sort = SORT_ALPHABETICAL): Json {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    refresh: 2, // on time range change
    regex: '',
    sort,
    multi: true,
    includeAll: true,
    allValue: '.*',
    current: {},
    options: [],
    hide: 0,
  };
}

export const TEMPLATE_VARIABLES: Json[] = [
  { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', regex: '', current: {}, options: [], refresh: 1, hide: 0, multi: false, includeAll: false },
  queryVariable('job', 'Job', 'label_values(tcpstate_build_info, job)'),
  queryVariable('instance', 'Instance', 'label_values(tcpstate_build_info{job=~"$job"}, instance)'),
  queryVariable('port', 'Port', 'label_values(tcpstate_port_sockets{job=~"$job", instance=~"$instance"}, port)', SORT_NUMERICAL),
];

export interface Dashboard {
  [key: string]: unknown;
  templating: { list: Json[] };
  panels: Panel[];
}

export function buildDashboard(): Dashboard {
  const panels = layout([overview(), synFlood(), acceptQueues(), closeWait(), timeWait(), keepalive(), retransmits(), sysctlTable(), exporterHealth()]);
  return {
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'stat', name: 'Stat', version: '' },
      { type: 'panel', id: 'table', name: 'Table', version: '' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
    ],
    uid: 'tcpstate-exporter',
    title: 'TCP sockets (tcpstate-exporter)',
    description: 'The Linux TCP socket table from tcpstate-exporter: states, SYN floods, accept queues, CLOSE_WAIT leaks, TIME_WAIT and ephemeral ports, keepalive, retransmissions and the kernel tunables.',
    tags: ['tcp', 'linux', 'tcpstate-exporter'],
    editable: true,
    graphTooltip: 1, // shared crosshair
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-3h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    weekStart: '',
    annotations: { list: [] },
    links: [
      { title: 'Runbooks', type: 'link', url: RUNBOOKS.slice(0, -1), targetBlank: true, icon: 'doc', tags: [], asDropdown: false, includeVars: false, keepTime: false, tooltip: 'One section per tcpstate alert' },
    ],
    templating: { list: TEMPLATE_VARIABLES },
    panels,
  };
}

/** The dashboard as it is checked in: two-space JSON with a final newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

export function writeDashboard(path = dashboardPath): void {
  writeFileSync(path, renderDashboard());
}
