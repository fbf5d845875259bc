import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import type { Collector } from '../../src/collectors/collector.js';
import type { RawFlagValue } from '../../src/config/flag.js';
import { Exporter } from '../../src/exporter.js';
import { BcryptWorker } from '../../src/web/bcrypt-worker.js';
import { listen } from '../../src/web/listen.js';
import { ReloadableWebConfig } from '../../src/web/reloadable-config.js';
import { createApp } from '../../src/web/server.js';
import { scrapeSetup } from '../helpers/scrape-setup.js';

export interface InProcessExporter {
  url: string;
  server: Server;
  web: ReloadableWebConfig;
  close(): Promise<void>;
}

/** The web endpoint in this process on a free loopback port, over the fixture /proc. */
export async function serveInProcess(
  flags: Readonly<Record<string, RawFlagValue>> = {},
  options: { collectors?: readonly Collector[]; webConfigFile?: string; logger?: Logger; toggles?: Record<string, boolean> } = {},
): Promise<InProcessExporter> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const { config, plan, context } = scrapeSetup({ 'web.listen-address': '127.0.0.1:0', ...flags }, { collectors: options.collectors, toggles: options.toggles });
  const web = ReloadableWebConfig.start(options.webConfigFile, logger);
  const verifier = new BcryptWorker();
  const app = createApp(config, new Exporter(plan, { ...context, logger }), { config: () => web.spec, verifier }, logger);
  const server = (await listen(app, config, web, logger)).servers[0]!;
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `${web.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`,
    server,
    web,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await verifier.close();
    },
  };
}
