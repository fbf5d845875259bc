import { createServer as createHttpServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { oneLine } from '../errors.js';
import { limitConnections } from './connection-limits.js';
import type { ReloadableWebConfig } from './reloadable-config.js';
import { checkClientCertificate } from './tls.js';

/** How often Node looks for connections past their header or request deadline. */
const DEADLINE_CHECK_INTERVAL_MS = 1000;
/** A request has no body here, so once its headers are in, this is ample for the rest. */
const REQUEST_BODY_GRACE_MS = 5000;

/** A bad request line or header: one plain line and close, as the rest of the endpoint answers. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const text = `${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\n`;
  socket.end(`HTTP/1.1 ${status} ${text.trim()}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
}

function createServer(app: RequestListener, config: Config, web: ReloadableWebConfig, logger: Logger): Server {
  const limits = config.web;
  const options: ServerOptions = {
    headersTimeout: limits.readHeaderTimeoutMs,
    requestTimeout: limits.readHeaderTimeoutMs + REQUEST_BODY_GRACE_MS,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS,
  };
  const tls = web.tls;
  if (tls === undefined) return createHttpServer(options, app);

  const server = createHttpsServer({ ...options, ...tls.options, handshakeTimeout: limits.readHeaderTimeoutMs }, app);
  web.onTlsChange((material) => {
    server.setSecureContext(material.options);
    // Not part of a secure context: tls.Server reads these two per connection, so a reload that
    // changes client_auth_type takes effect on the next handshake too.
    const policy = server as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
    policy.requestCert = material.options.requestCert;
    policy.rejectUnauthorized = material.options.rejectUnauthorized;
  });
  // Before the HTTP layer sees the socket: a client that fails the certificate policy is cut off
  // right after the handshake, without a byte of HTTP read or written.
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    const material = web.tls;
    const refusal = material === undefined ? undefined : checkClientCertificate(material.spec, socket);
    if (refusal === undefined) return;
    logger.debug({ remote: socket.remoteAddress, reason: refusal }, 'TLS client refused');
    socket.destroy();
  });
  server.on('tlsClientError', (error, socket) => {
    logger.debug({ remote: socket.remoteAddress, err: oneLine(error) }, 'TLS handshake failed');
  });
  return server;
}

/** Starts listening; resolves once the port is bound, rejects with a one-line reason otherwise. */
export function listen(app: RequestListener, config: Config, web: ReloadableWebConfig, logger: Logger): Promise<Server> {
  const server = createServer(app, config, web, logger);
  // First among the connection listeners, so that a rotated certificate is in place before the
  // TLS layer wraps this very connection.
  server.prependListener('connection', () => web.checkForChanges());
  limitConnections(server, config.web.maxConnections, logger);
  server.on('clientError', answerClientError);
  const { host, port } = config.web.listenAddress;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${host ?? ''}:${port}: ${error.code ?? oneLine(error)}`));
    });
    server.listen({ host, port }, () => resolve(server));
  });
}
