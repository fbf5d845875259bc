/** One finding of `tcpstate-exporter diagnose --diagnose.format=json`, as the tests read it. */
export interface JsonFinding {
  check: string;
  severity: string;
  headline: string;
  evidence: string[];
  labels: Record<string, string>;
  runbook: string | null;
}
