/**
 * The template variables: the Prometheus datasource, then job, instance, port and pod, each a
 * multi-select with All whose values come from the exporter's own series.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE } from './queries.js';

/** A query variable as Grafana saves one, with `definition`, the query text its editor shows. */
type QueryVariableModel = dashboard.VariableModel & { definition: string };

/**
 * A Prometheus label_values() variable. The SDK's QueryVariableBuilder has no `definition`
 * (Grafana's variable list shows it, and its editor falls back on it), so this adds it.
 */
class PrometheusQueryVariable implements cog.Builder<QueryVariableModel> {
  private readonly variable: dashboard.QueryVariableBuilder;

  constructor(
    name: string,
    label: string,
    private readonly promql: string,
    sort: dashboard.VariableSort,
  ) {
    this.variable = new dashboard.QueryVariableBuilder(name)
      .label(label)
      .datasource(DATASOURCE)
      .query({ query: promql, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .regex('')
      .sort(sort)
      .multi(true)
      .includeAll(true)
      .allValue('.*')
      .options([])
      .hide(dashboard.VariableHide.DontHide);
  }

  build(): QueryVariableModel {
    return { ...this.variable.build(), definition: this.promql };
  }
}

export function templateVariables(): cog.Builder<dashboard.VariableModel>[] {
  const alphabetical = dashboard.VariableSort.AlphabeticalAsc;
  return [
    new dashboard.DatasourceVariableBuilder('datasource')
      .label('Data source')
      .type('prometheus')
      .regex('')
      .multi(false)
      .includeAll(false)
      .hide(dashboard.VariableHide.DontHide),
    new PrometheusQueryVariable('job', 'Job', 'label_values(tcpstate_build_info, job)', alphabetical),
    new PrometheusQueryVariable('instance', 'Instance', 'label_values(tcpstate_build_info{job=~"$job"}, instance)', alphabetical),
    // Ports sort as numbers: 80 < 443 < 8080.
    new PrometheusQueryVariable('port', 'Port', 'label_values(tcpstate_port_sockets{job=~"$job", instance=~"$instance"}, port)', dashboard.VariableSort.NumericalAsc),
    // The pods of the netns collector (the pod row); containers and bare namespaces have no pod
    // label, and All (`.*`) keeps them.
    new PrometheusQueryVariable('pod', 'Pod', 'label_values(tcpstate_netns_table_info{job=~"$job", instance=~"$instance"}, pod)', alphabetical),
  ];
}
