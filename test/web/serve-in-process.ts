import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import type { Collector, ScrapeContext } from '../../src/collectors/collector.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig, type RawFlags } from '../../src/config.js';
import { Exporter } from '../../src/exporter.js';
import { ProcRoot } from '../../src/proc-root.js';
import { ProcfsSource } from '../../src/sources/procfs.js';
import { BcryptWorker } from '../../src/web/bcrypt-worker.js';
import { listen } from '../../src/web/listen.js';
import { ReloadableWebConfig } from '../../src/web/reloadable-config.js';
import { createApp } from '../../src/web/server.js';
import { fixtureProcfs } from '../helpers/exporter-process.js';

export interface InProcessExporter {
  url: string;
  server: Server;
  web: ReloadableWebConfig;
  close(): Promise<void>;
}

/** The web endpoint in this process on a free loopback port, over the fixture /proc. */
export async function serveInProcess(flags: RawFlags = {}, options: { collectors?: readonly Collector[]; webConfigFile?: string; logger?: Logger } = {}): Promise<InProcessExporter> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const config = parseConfig({ 'web.listen-address': '127.0.0.1:0', 'path.procfs': fixtureProcfs, ...flags }, COLLECTORS);
  const proc = new ProcRoot(config.procfsPath);
  const context: ScrapeContext = { config, proc, sockets: new ProcfsSource(proc), logger };
  const web = ReloadableWebConfig.start(options.webConfigFile, logger);
  const verifier = new BcryptWorker();
  const app = createApp(config, new Exporter(options.collectors ?? COLLECTORS, context), { config: () => web.spec, verifier }, logger);
  const server = await listen(app, config, web, logger);
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
