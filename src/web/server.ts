import compression from 'compression';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { oneLine } from '../errors.js';
import { selectCollectors } from '../collector-filter.js';
import { scrapeTimeoutSeconds, type Exporter, type ExpositionFormat } from '../exporter.js';
import { VERSION } from '../version.js';
import { BasicAuth } from './basic-auth.js';
import type { PasswordVerifier } from './bcrypt-worker.js';
import { methodNotAllowed, notFound, plainErrorHandler, sendPlain } from './plain-errors.js';
import { rateLimit } from './rate-limit.js';
import type { WebConfigSpec } from './web-config.js';

/** For clients that do not say how long they wait (Prometheus does): generous, for a person with curl. */
const DEFAULT_SCRAPE_TIMEOUT_SECONDS = 30;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** OpenMetrics when the scraper asks for it (Prometheus does when it prefers it), else text 0.0.4. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
}

/**
 * compression()'s own filter only knows the types mime-db calls compressible, and
 * application/openmetrics-text is not one, so Prometheus's (OpenMetrics) scrapes went out plain.
 */
function compressible(req: Request, res: Response): boolean {
  const type = String(res.getHeader('Content-Type') ?? '');
  return type.startsWith('application/openmetrics-text') || compression.filter(req, res);
}

function landingPage(config: Config): string {
  const path = escapeHtml(config.web.telemetryPath);
  const collectors = config.enabledCollectors.map((name) => `<li>${escapeHtml(name)}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tcpstate-exporter</title></head>
<body>
<h1>tcpstate-exporter</h1>
<p>Prometheus exporter for the Linux TCP socket table. Version ${escapeHtml(VERSION)}.</p>
<p><a href="${path}">Metrics</a> &middot; <a href="/-/healthy">Health</a></p>
<h2>Enabled collectors</h2>
<ul>${collectors}</ul>
</body></html>
`;
}

export interface WebContext {
  /** The web config in force (it may be reloaded between requests). */
  config: () => WebConfigSpec;
  verifier: PasswordVerifier;
}

const READ_METHODS = ['GET', 'HEAD'];

export function createApp(config: Config, exporter: Exporter, web: WebContext, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((_req, res, next) => {
    for (const [name, value] of Object.entries(web.config().headers)) res.set(name, value);
    next();
  });
  app.use(rateLimit(web.config));
  app.use(new BasicAuth(web.config, web.verifier).middleware);
  app.use(compression({ filter: compressible }));

  // Scrapes that start a collection. One that joins a collection in flight costs a render at
  // most (and shares it with the other requests for its format), so it does not count: a slow
  // collection (the process collector takes seconds) must not turn Prometheus's next scrapes into
  // 503s while it runs.
  let collecting = 0;
  app.get(config.web.telemetryPath, (req, res) => {
    let collectors: readonly string[];
    try {
      collectors = selectCollectors(config.enabledCollectors, req.query['collect[]'], req.query['exclude[]']);
    } catch (error) {
      sendPlain(res, 400, oneLine(error));
      return;
    }
    const joins = exporter.isCollecting(collectors);
    if (!joins && config.web.maxRequests > 0 && collecting >= config.web.maxRequests) {
      sendPlain(res, 503, `Too many concurrent scrapes (--web.max-requests=${config.web.maxRequests})`);
      return;
    }
    if (!joins) collecting++;
    exporter
      .scrape(negotiateFormat(req.headers.accept), scrapeTimeoutSeconds(req.headers['x-prometheus-scrape-timeout-seconds'], DEFAULT_SCRAPE_TIMEOUT_SECONDS), collectors)
      .then(
        (scrape) => {
          res.set('Content-Type', scrape.contentType).send(scrape.body);
        },
        (error: unknown) => {
          logger.error({ err: oneLine(error) }, 'scrape failed');
          sendPlain(res, 500, `Scrape failed: ${oneLine(error)}`);
        },
      )
      .finally(() => {
        if (!joins) collecting--;
      });
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('Healthy\n');
  });
  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(config));
  });
  for (const path of [config.web.telemetryPath, '/-/healthy', '/']) app.all(path, methodNotAllowed(READ_METHODS));
  app.use(notFound);
  app.use(plainErrorHandler);
  return app;
}
