/**
 * The house style of the dashboard's panels, on the Grafana foundation SDK's builders: each
 * function returns an SDK panel builder already set the way every panel of its kind looks here,
 * and the rows go on chaining SDK methods (span, unit, targets, thresholds...) on it.
 *
 * Panels that show what an alert watches carry the alert's threshold (alertSteps, with the
 * numbers of alert-thresholds.ts) and a link to its runbook (runbookLink).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { AlertThreshold } from './alert-thresholds.js';
import { DATASOURCE } from './queries.js';

export const RUNBOOKS = 'https://github.com/tcpstate-exporter/tcpstate-exporter/blob/main/docs/runbooks.md';

/** A row of the dashboard: its title and its panels, left to right, wrapping at 24 columns. */
export interface DashboardRow {
  readonly title: string;
  readonly panels: readonly cog.Builder<dashboard.Panel>[];
}

type Color = 'green' | 'orange' | 'red' | 'blue' | 'text';

/** Threshold steps: a base colour, then [colour, from-value] pairs. */
export function steps(base: Color, ...rest: [Color, number][]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ color: base, value: null }, ...rest.map(([color, value]) => ({ color, value }))]);
}

/** Green below the alert's threshold, its severity's colour from it on. */
export function alertSteps(...thresholds: AlertThreshold[]): dashboard.ThresholdsConfigBuilder {
  const colour = (t: AlertThreshold): Color => (t.severity === 'critical' ? 'red' : t.severity === 'warning' ? 'orange' : 'blue');
  return steps('green', ...thresholds.map((t): [Color, number] => [colour(t), t.value]));
}

/** How a time series draws its thresholds. */
export function thresholdLines(mode: 'line' | 'dashed' | 'area' | 'line+area'): common.GraphThresholdsStyleConfigBuilder {
  const modes = {
    line: common.GraphThresholdsStyleMode.Line,
    dashed: common.GraphThresholdsStyleMode.Dashed,
    area: common.GraphThresholdsStyleMode.Area,
    'line+area': common.GraphThresholdsStyleMode.LineAndArea,
  } as const;
  return new common.GraphThresholdsStyleConfigBuilder().mode(modes[mode]);
}

/** A panel link to the runbook section of an alert (docs/runbooks.md, one `## Alert` each). */
export function runbookLink(alert: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(`Runbook: ${alert}`).url(`${RUNBOOKS}#${alert.toLowerCase()}`).targetBlank(true);
}

/** Series whose legend contains "limit" are drawn dashed and red: they are the kernel's limit, not a count. */
export function limitDashed(): { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] } {
  return {
    matcher: { id: 'byRegexp', options: '.*limit.*' },
    properties: [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ],
  };
}

/**
 * A time series: lines from zero, one legend row per series with its last and highest value,
 * a tooltip listing every series. Width is the caller's (span), height 8.
 */
export function timeseriesPanel(title: string, description: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .height(8)
    .unit('short')
    .min(0)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .drawStyle(common.GraphDrawStyle.Line)
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.None).group('A'))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Off))
    .thresholds(steps('green'))
    .mappings([])
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

/** Stacks the series of a time series (states adding up to a total), filled a little more. */
export function stacked(panel: timeseries.PanelBuilder): timeseries.PanelBuilder {
  return panel.fillOpacity(30).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal).group('A'));
}

/** A single number, coloured by its thresholds, with a sparkline. Width is the caller's, height 4. */
export function statPanel(title: string, description: string): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .height(4)
    .unit('short')
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .thresholds(steps('green'))
    .mappings([])
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('').values(false))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.Area)
    .justifyMode(common.BigValueJustifyMode.Auto)
    .orientation(common.VizOrientation.Auto)
    .textMode(common.BigValueTextMode.Auto)
    .wideLayout(true)
    .showPercentChange(false);
}

/** A setting rather than a measurement: the number alone, no sparkline (settings rarely change). */
export function settingPanel(title: string, description: string): stat.PanelBuilder {
  return statPanel(title, description).graphMode(common.BigValueGraphMode.None);
}

/** A table of an instant query's series. Width is the caller's, height 8. */
export function tablePanel(title: string, description: string): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .height(8)
    .unit('none')
    .thresholds(steps('green'))
    .mappings([])
    .align(common.FieldTextAlignment.Auto)
    .cellOptions({ type: common.TableCellDisplayMode.Auto })
    .showHeader(true)
    .cellHeight(common.TableCellHeight.Sm)
    .footer(new common.TableFooterOptionsBuilder().show(false).reducer(['sum']));
}
