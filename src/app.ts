/** The exporter's command line, after main.ts checked it can load: parse, then serve, collect or diagnose. */
import type { Logger } from 'pino';
import { InfoPrinted, parseCommandLine, UsageError } from './cli.js';
import { HOST_TABLE, type ScrapeContext } from './collectors/collector.js';
import { COLLECTORS } from './collectors/index.js';
import type { ScrapePlan } from './collectors/run-collectors.js';
import { parseConfig, type Config } from './config/config.js';
import { withDiagnoseDefaults, withoutNetlinkOnly } from './diagnose/collector-defaults.js';
import { runDiagnose, terminalOutput } from './diagnose/run.js';
import { oneLine, UserFacingError } from './errors.js';
import { Exporter } from './exporter.js';
import { createLogger } from './logger.js';
import { createNetlinkSource } from './netlink/probe.js';
import { resolveOwnerPaths } from './owners/flags.js';
import { ProcRoot } from './procfs/proc-root.js';
import { BcryptWorker } from './web/bcrypt-worker.js';
import { listen } from './web/listen.js';
import { ReloadableWebConfig } from './web/reloadable-config.js';
import { createApp } from './web/server.js';
import { selectSocketSource } from './sources/select.js';

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

function fail(message: string, code: number): never {
  process.stderr.write(`tcpstate-exporter: error: ${message}\n`);
  process.exit(code);
}

/** The edges of a scrape: where /proc is, which socket source, which collectors with which flags. */
function buildScrape(config: Config, logger: Logger): { plan: ScrapePlan; context: ScrapeContext } {
  const proc = new ProcRoot(config.procfs.path);
  const sockets = selectSocketSource(config.source.choice, proc, () => createNetlinkSource(), logger);
  const plan: ScrapePlan = {
    collectors: COLLECTORS.filter((collector) => config.enabledCollectors.includes(collector.name)),
    options: config.collectors,
    tables: [{ id: HOST_TABLE, source: sockets }],
  };
  return { plan, context: { proc, logger, ownerPaths: resolveOwnerPaths(config.owners) } };
}

/**
 * Collectors that read other users' processes or root-only files, and so may need root (with the
 * right capabilities): process (/proc/<pid>/fd), netns (/proc/<pid>/ns/net), cgroup (the runtimes'
 * state directories, mode 0700).
 */
const NEEDS_PRIVILEGE = new Set(['process', 'netns', 'cgroup']);

/** Least privilege: root is worth a warning unless an enabled collector needs it. */
function warnIfNeedlesslyRoot(config: Config, logger: Logger): void {
  if (process.getuid?.() !== 0 || config.enabledCollectors.some((name) => NEEDS_PRIVILEGE.has(name))) return;
  logger.warn({ uid: 0 }, 'running as root, which no enabled collector needs: run as an unprivileged user (the shipped systemd unit and DaemonSet do)');
}

async function serve(config: Config, logger: Logger): Promise<void> {
  const web = ReloadableWebConfig.start(config.web.configFile, logger);
  const { plan, context } = buildScrape(config, logger);
  const exporter = new Exporter(plan, context, { processMetrics: !config.web.disableExporterMetrics });
  const app = createApp(config, exporter, { config: () => web.spec, verifier: new BcryptWorker() }, logger);
  const { servers, addresses } = await listen(app, config, web, logger);
  logger.info({ address: addresses.join(','), tls: web.tls !== undefined, collectors: config.enabledCollectors.join(','), source: plan.tables[0]?.source.name }, 'listening');
  warnIfNeedlesslyRoot(config, logger);

  // SIGHUP re-reads --web.config.file, as Prometheus and exporter-toolkit users expect; without a
  // handler Node would end the process.
  process.on('SIGHUP', () => web.reload('SIGHUP'));
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    let open = servers.length;
    for (const server of servers) {
      server.close(() => {
        open--;
        if (open === 0) process.exit(0);
      });
      server.closeIdleConnections();
    }
    // A scrape in flight gets a few seconds to finish; then we go regardless.
    setTimeout(() => {
      for (const server of servers) server.closeAllConnections();
      process.exit(0);
    }, 5000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function collectOnce(config: Config, logger: Logger): Promise<void> {
  const { plan, context } = buildScrape(config, logger);
  const scrape = await new Exporter(plan, context, { processMetrics: false }).scrape('prometheus');
  process.stdout.write(scrape.body);
  // The output is still written (what did work is worth having), but a script must see the failure.
  if (scrape.failed.length > 0) {
    process.stderr.write(`tcpstate-exporter: error: ${scrape.failed.length} of ${plan.collectors.length} collectors failed: ${scrape.failed.join(', ')}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

async function main(): Promise<void> {
  let command;
  let config: Config;
  let askedFor: (collector: string) => boolean = () => false;
  try {
    const parsed = parseCommandLine(process.argv.slice(2), COLLECTORS);
    command = parsed.command;
    askedFor = (collector) => parsed.flags.collectorToggles[collector] === true;
    // diagnose turns the process collector on by default; serve and collect keep theirs.
    config = parseConfig(parsed.flags, command === 'diagnose' ? withDiagnoseDefaults(COLLECTORS) : COLLECTORS);
  } catch (error) {
    if (error instanceof InfoPrinted) process.exit(0);
    if (error instanceof UsageError || error instanceof UserFacingError) fail(error.message, EXIT_USAGE);
    throw error;
  }
  const logger = createLogger(config.log.level, config.log.format);
  try {
    if (command === 'collect') await collectOnce(config, logger);
    else if (command === 'diagnose') {
      const { plan, context } = buildScrape(config, logger);
      // exitCode, not exit(): a report piped to a file or `less` is written out in full first.
      process.exitCode = await runDiagnose(withoutNetlinkOnly(plan, askedFor), context, config.diagnose, terminalOutput());
    } else await serve(config, logger);
  } catch (error) {
    fail(oneLine(error), error instanceof UserFacingError ? EXIT_USAGE : EXIT_FAILURE);
  }
}

export function run(): void {
  main().catch((error: unknown) => fail(oneLine(error), EXIT_FAILURE));
}
