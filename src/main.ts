#!/usr/bin/env node
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { InfoPrinted, parseCommandLine, UsageError } from './cli.js';
import type { ScrapeContext } from './collectors/collector.js';
import { COLLECTORS } from './collectors/index.js';
import { parseConfig, type Config } from './config.js';
import { withDiagnoseDefaults } from './diagnose/collector-defaults.js';
import { runDiagnose, terminalOutput } from './diagnose/run.js';
import { oneLine, UserFacingError } from './errors.js';
import { Exporter } from './exporter.js';
import { createLogger } from './logger.js';
import { ProcRoot } from './proc-root.js';
import { BcryptWorker } from './web/bcrypt-worker.js';
import { listen } from './web/listen.js';
import { ReloadableWebConfig } from './web/reloadable-config.js';
import { createApp } from './web/server.js';
import { createNetlinkSource } from './sources/netlink.js';
import { selectSocketSource } from './sources/select.js';

const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

function fail(message: string, code: number): never {
  process.stderr.write(`tcpstate-exporter: error: ${message}\n`);
  process.exit(code);
}

function buildContext(config: Config, logger: Logger): ScrapeContext {
  const proc = new ProcRoot(config.procfsPath);
  const sockets = selectSocketSource(config.sockets.source, proc, () => createNetlinkSource(), logger);
  return { config, proc, sockets, logger };
}

function enabledCollectors(config: Config) {
  return COLLECTORS.filter((collector) => config.enabledCollectors.includes(collector.name));
}

async function serve(config: Config, logger: Logger): Promise<void> {
  const web = ReloadableWebConfig.start(config.web.configFile, logger);
  const exporter = new Exporter(enabledCollectors(config), buildContext(config, logger));
  const app = createApp(config, exporter, { config: () => web.spec, verifier: new BcryptWorker() }, logger);
  const server: Server = await listen(app, config, web, logger);
  const { host, port } = config.web.listenAddress;
  logger.info({ address: `${host ?? ''}:${port}`, tls: web.tls !== undefined, collectors: config.enabledCollectors.join(',') }, 'listening');

  // SIGHUP re-reads --web.config.file, as Prometheus and exporter-toolkit users expect; without a
  // handler Node would end the process.
  process.on('SIGHUP', () => web.reload('SIGHUP'));
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // A scrape in flight gets a few seconds to finish; then we go regardless.
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, 5000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function collectOnce(config: Config, logger: Logger): Promise<void> {
  const exporter = new Exporter(enabledCollectors(config), buildContext(config, logger), { processMetrics: false });
  const scrape = await exporter.scrape('prometheus');
  process.stdout.write(scrape.body);
}

async function main(): Promise<void> {
  let command;
  let config: Config;
  try {
    const parsed = parseCommandLine(process.argv.slice(2), COLLECTORS);
    command = parsed.command;
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
    // exitCode, not exit(): a report piped to a file or `less` is written out in full first.
    else if (command === 'diagnose') process.exitCode = await runDiagnose(enabledCollectors(config), buildContext(config, logger), config.diagnose, terminalOutput());
    else await serve(config, logger);
  } catch (error) {
    fail(oneLine(error), error instanceof UserFacingError ? EXIT_USAGE : EXIT_FAILURE);
  }
}

main().catch((error: unknown) => fail(oneLine(error), EXIT_FAILURE));
