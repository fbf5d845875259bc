/**
 * `npm run dashboard`: writes grafana/tcpstate.json from the generator (or to the path given as
 * the only argument, which the test uses to check this entry point without touching the file).
 */
import { writeFileSync } from 'node:fs';
import { dashboardPath, renderDashboard } from './dashboard.js';

const [out = dashboardPath, ...extra] = process.argv.slice(2);
if (extra.length > 0) {
  console.error('usage: npm run dashboard [-- <output.json>]');
  process.exit(2);
}
try {
  writeFileSync(out, renderDashboard());
  console.log(`wrote ${out}`);
} catch (error) {
  console.error(`cannot write the dashboard: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
