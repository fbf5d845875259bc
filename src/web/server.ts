import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import compression from 'compression';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { oneLine } from '../errors.js';
import type { Exporter, ExpositionFormat } from '../exporter.js';
import { VERSION } from '../version.js';
import type { WebConfig } from './web-config.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** OpenMetrics when the scraper asks for it (Prometheus does when it prefers it), else text 0.0.4. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && accept.includes('application/openmetrics-text') ? 'openmetrics' : 'prometheus';
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

/**
 * Basic auth against bcrypt hashes. bcrypt is slow by design, so a verified pair is remembered
 * (by a digest, never in clear) and a scrape every few seconds does not cost a hash each time.
 */
function basicAuth(users: ReadonlyMap<string, string>): (req: Request, res: Response, next: NextFunction) => void {
  const verified = new Set<string>();
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon > 0 ? decoded.slice(0, colon) : '';
    const password = colon > 0 ? decoded.slice(colon + 1) : '';
    const hash = users.get(user);
    const refuse = (): void => {
      res.set('WWW-Authenticate', 'Basic realm="tcpstate-exporter"').status(401).type('text/plain').send('Unauthorized\n');
    };
    if (hash === undefined) return refuse();
    const digest = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (verified.has(digest)) return next();
    bcrypt.compare(password, hash).then(
      (ok) => {
        if (!ok) return refuse();
        verified.add(digest);
        next();
      },
      () => refuse(),
    );
  };
}

function requireClientCertificate(req: Request, res: Response, next: NextFunction): void {
  const socket = req.socket as TLSSocket;
  const certificate = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
  if (certificate === undefined || Object.keys(certificate).length === 0) {
    res.status(403).type('text/plain').send('A client certificate is required\n');
    return;
  }
  next();
}

export function createApp(config: Config, exporter: Exporter, web: WebConfig, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (web.tls?.requireCert) app.use(requireClientCertificate);
  if (web.basicAuthUsers.size > 0) app.use(basicAuth(web.basicAuthUsers));
  app.use(compression());

  let inFlight = 0;
  app.get(config.web.telemetryPath, (req, res) => {
    if (config.web.maxRequests > 0 && inFlight >= config.web.maxRequests) {
      res.status(503).type('text/plain').send(`Too many concurrent scrapes (--web.max-requests=${config.web.maxRequests})\n`);
      return;
    }
    inFlight++;
    exporter
      .scrape(negotiateFormat(req.headers.accept))
      .then(
        (scrape) => {
          res.set('Content-Type', scrape.contentType).send(scrape.body);
        },
        (error: unknown) => {
          logger.error({ err: oneLine(error) }, 'scrape failed');
          res.status(500).type('text/plain').send(`Scrape failed: ${oneLine(error)}\n`);
        },
      )
      .finally(() => {
        inFlight--;
      });
  });
  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('Healthy\n');
  });
  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(config));
  });
  return app;
}

/** Starts listening; resolves once the port is bound, rejects with a one-line reason otherwise. */
export function listen(app: express.Express, config: Config, web: WebConfig): Promise<Server> {
  const tls = web.tls;
  const server: Server = tls
    ? createHttpsServer(
        {
          cert: tls.cert,
          key: tls.key,
          ca: tls.ca,
          requestCert: tls.requestCert,
          rejectUnauthorized: tls.rejectUnauthorized,
          minVersion: tls.minVersion,
          maxVersion: tls.maxVersion,
        },
        app,
      )
    : createHttpServer(app);
  const { host, port } = config.web.listenAddress;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${host ?? ''}:${port}: ${error.code ?? oneLine(error)}`));
    });
    server.listen({ host, port }, () => resolve(server));
  });
}
