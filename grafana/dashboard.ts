/**
 * The tcpstate-exporter dashboard (grafana/tcpstate.json), built with the Grafana foundation SDK.
 * Edit the rows (grafana/rows/), never the JSON; `npm run dashboard` rewrites it, and
 * test/grafana/dashboard.test.ts fails while the checked-in JSON differs from what this builds.
 */
import { fileURLToPath } from 'node:url';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { RUNBOOKS, type DashboardRow } from './panels.js';
import { acceptQueuesRow } from './rows/accept-queues.js';
import { closeWaitRow } from './rows/close-wait.js';
import { connectionQualityRow } from './rows/connection-quality.js';
import { exporterRow } from './rows/exporter.js';
import { keepaliveRow } from './rows/keepalive.js';
import { overviewRow } from './rows/overview.js';
import { podsRow } from './rows/pods.js';
import { retransmitsRow } from './rows/retransmits.js';
import { synFloodRow } from './rows/syn-flood.js';
import { sysctlsRow } from './rows/sysctls.js';
import { timeWaitRow } from './rows/time-wait.js';
import { templateVariables } from './variables.js';

export const dashboardPath = fileURLToPath(new URL('./tcpstate.json', import.meta.url));

/** The rows, top to bottom (docs/dashboard.md describes each). A new row is a file in rows/ and a line here. */
export const ROWS: readonly (() => DashboardRow)[] = [
  overviewRow,
  synFloodRow,
  acceptQueuesRow,
  closeWaitRow,
  timeWaitRow,
  keepaliveRow,
  retransmitsRow,
  connectionQualityRow,
  podsRow,
  sysctlsRow,
  exporterRow,
];

/**
 * The schema version the dashboard has always declared (and test/grafana checks); Grafana 11
 * migrates it forward on load. The SDK release for Grafana 10.4 leaves its kind's default (36),
 * which would make Grafana re-run old migrations on a dashboard that does not need them.
 */
const SCHEMA_VERSION = 39;

/** What the import page lists as required (not part of the dashboard schema, so not in the SDK). */
const REQUIRES = [
  { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
  { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
  { type: 'panel', id: 'heatmap', name: 'Heatmap', version: '' },
  { type: 'panel', id: 'stat', name: 'Stat', version: '' },
  { type: 'panel', id: 'table', name: 'Table', version: '' },
  { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
];

export type Dashboard = dashboard.Dashboard & { __requires: typeof REQUIRES };

export function buildDashboard(): Dashboard {
  const builder = new dashboard.DashboardBuilder('TCP sockets (tcpstate-exporter)')
    .uid('tcpstate-exporter')
    .description(
      'The Linux TCP socket table from tcpstate-exporter: states, SYN floods, accept queues, CLOSE_WAIT leaks, TIME_WAIT and ephemeral ports, keepalive, retransmissions, connection quality per port (RTT, retransmits, loss recovery), the pods and containers of each host, and the kernel tunables.',
    )
    .tags(['tcp', 'linux', 'tcpstate-exporter'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .fiscalYearStartMonth(0)
    .liveNow(false)
    .refresh('30s')
    .version(1)
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .weekStart('')
    .annotations([])
    .links([
      new dashboard.DashboardLinkBuilder('Runbooks').type(dashboard.DashboardLinkType.Link).url(RUNBOOKS).targetBlank(true).icon('doc').tooltip('One section per tcpstate alert'),
    ])
    .variables(templateVariables());
  // Rows stay expanded: their panels follow them at the top level (the SDK's RowBuilder.withPanel
  // would put them inside the row and collapse it). The SDK lays them out left to right and starts
  // a new line once one is full, so each line's widths must add up to 24 (the grid test checks).
  for (const row of ROWS.map((make) => make())) {
    builder.withRow(new dashboard.RowBuilder(row.title).collapsed(false));
    for (const panel of row.panels) builder.withPanel(panel);
  }
  const built = builder.build();
  // Panel ids in the order they appear; Grafana needs them unique, the SDK leaves them to us.
  built.panels?.forEach((panel, i) => {
    panel.id = i + 1;
  });
  return { __requires: REQUIRES, ...built, schemaVersion: SCHEMA_VERSION };
}

/** The dashboard as it is checked in: two-space JSON with a final newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
