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

/** The first file descriptor systemd passes (SD_LISTEN_FDS_START). */
const SD_LISTEN_FDS_START = 3;

/** What a server listens on: an address, or a socket systemd passed (socket activation). */
type Endpoint = { label: string; options: { host: string | undefined; port: number } | { fd: number } };

/**
 * The sockets systemd passed, by sd_listen_fds(3)'s rules: LISTEN_PID must be this process,
 * LISTEN_FDS says how many, from fd 3 on.
 */
export function systemdSockets(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): Endpoint[] {
  const count = Number(env.LISTEN_FDS);
  if (Number(env.LISTEN_PID) !== pid || !Number.isInteger(count) || count < 1) {
    throw new Error('--web.systemd-socket: systemd passed no socket (LISTEN_PID/LISTEN_FDS unset or for another process); start it from a .socket unit');
  }
  return Array.from({ length: count }, (_, i) => ({ label: `systemd socket fd ${SD_LISTEN_FDS_START + i}`, options: { fd: SD_LISTEN_FDS_START + i } }));
}

function endpoints(config: Config): Endpoint[] {
  if (config.web.systemdSocket) return systemdSockets();
  return config.web.listenAddresses.map(({ host, port }) => ({ label: `${host?.includes(':') ? `[${host}]` : (host ?? '')}:${port}`, options: { host, port } }));
}

function listenOn(server: Server, endpoint: Endpoint): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${endpoint.label}: ${error.code ?? oneLine(error)}`));
    });
    server.listen(endpoint.options, () => resolve(server));
  });
}

/**
 * Starts one server per --web.listen-address (or per socket systemd passed), all serving the same
 * app; resolves once every one is bound, rejects with a one-line reason otherwise (closing those
 * already bound). The connection cap applies to each server.
 */
export async function listen(app: RequestListener, config: Config, web: ReloadableWebConfig, logger: Logger): Promise<{ servers: Server[]; addresses: string[] }> {
  const targets = endpoints(config);
  const servers = targets.map(() => {
    const server = createServer(app, config, web, logger);
    // First among the connection listeners, so that a rotated certificate is in place before the
    // TLS layer wraps this very connection.
    server.prependListener('connection', () => web.checkForChanges());
    limitConnections(server, config.web.maxConnections, logger);
    server.on('clientError', answerClientError);
    return server;
  });
  const bound = await Promise.allSettled(servers.map((server, i) => listenOn(server, targets[i]!)));
  const failure = bound.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure !== undefined) {
    for (const server of servers) if (server.listening) server.close();
    throw failure.reason;
  }
  return { servers, addresses: targets.map((target) => target.label) };
}
