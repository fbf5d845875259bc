import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScrapeContext } from '../collectors/collector.js';
import type { ScrapePlan } from '../collectors/run-collectors.js';
import type { Config } from '../config/config.js';
import { runChecks } from './checks/index.js';
import type { Observation } from './observation.js';
import { renderJson } from './render-json.js';
import { renderText } from './render-text.js';
import { buildReport } from './report.js';
import { takeSnapshot } from './take-snapshot.js';

/** Where the report goes and how it should look there. */
export interface DiagnoseOutput {
  write(text: string): void;
  /** A note while waiting for the second snapshot; only worth showing to a person at a terminal. */
  progress(text: string): void;
  readonly color: boolean;
  readonly width: number | undefined;
  readonly hostname: string;
}

/** Widest line worth wrapping to, even on a very wide terminal. */
const MAX_WIDTH = 120;

/** stdout; colours only on a terminal and without NO_COLOR (https://no-color.org: set and non-empty). */
export function terminalOutput(): DiagnoseOutput {
  const tty = process.stdout.isTTY === true;
  const noColor = (process.env.NO_COLOR ?? '') !== '';
  return {
    write: (text) => process.stdout.write(text),
    progress: (text) => {
      if (process.stderr.isTTY === true) process.stderr.write(text);
    },
    color: tty && !noColor,
    width: tty ? Math.min(process.stdout.columns ?? MAX_WIDTH, MAX_WIDTH) : undefined,
    hostname: hostname(),
  };
}

/**
 * `tcpstate-exporter diagnose`: one snapshot, or two --diagnose.interval seconds apart so the
 * kernel's counters become rates; the checks; the report. Resolves the exit code.
 */
export async function runDiagnose(plan: ScrapePlan, context: ScrapeContext, settings: Config['diagnose'], output: DiagnoseOutput): Promise<number> {
  const first = await takeSnapshot(plan, context);
  let observation: Observation = { current: first, previous: undefined };
  if (settings.intervalSeconds > 0) {
    output.progress(`taking a second snapshot in ${settings.intervalSeconds} s to measure rates...\n`);
    await sleep(settings.intervalSeconds * 1000);
    observation = { current: await takeSnapshot(plan, context), previous: first };
  }
  const report = buildReport(observation, runChecks(observation), output.hostname);
  output.write(settings.format === 'json' ? renderJson(report) : renderText(report, { color: output.color, width: output.width }));
  return report.exitCode;
}
