import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** How often a full connection table is logged, at most. */
const WARN_INTERVAL_MS = 60_000;

interface Tracked {
  socket: Socket;
  /** Requests being answered on this connection. */
  busy: number;
}

/** The tracked connection of each response in flight, so a handler can give its slot back early. */
const slots = new WeakMap<ServerResponse, Tracked>();

/**
 * Counts this response's connection as idle from now on, so it may be closed to make room: for
 * a request that is only being made to wait, such as a refused login held back.
 */
export function releaseSlot(res: ServerResponse): void {
  const entry = slots.get(res);
  if (entry === undefined) return;
  slots.delete(res);
  entry.busy--;
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

/**
 * Caps open connections without letting slow clients lock out the scrapers. Node's own
 * maxConnections refuses the newcomer, so 1,000 connections that never finish their headers
 * would shut Prometheus out until they time out. Here a newcomer past the cap closes the oldest
 * connection with no request in flight (a slowloris, or an idle keep-alive) instead; only when
 * every connection is busy answering a request is the newcomer itself closed. The cap stays
 * below the fd limit, so accept() never fails with EMFILE.
 */
export function limitConnections(server: Server, maxConnections: number, logger: Logger): { readonly open: number } {
  // Insertion order is age order: the first idle entry is the oldest idle connection.
  const tracked = new Map<string, Tracked>();
  let lastWarning = 0;

  const warn = (message: string): void => {
    const now = Date.now();
    if (now - lastWarning < WARN_INTERVAL_MS) return;
    lastWarning = now;
    logger.warn({ max_connections: maxConnections }, message);
  };

  server.on('connection', (socket: Socket) => {
    if (tracked.size >= maxConnections) {
      let victim: Tracked | undefined;
      for (const entry of tracked.values()) {
        if (entry.busy === 0) {
          victim = entry;
          break;
        }
      }
      if (victim === undefined) {
        warn('connection cap reached and every connection is answering a request; closing new connections');
        socket.destroy();
        return;
      }
      warn('connection cap reached; closing the oldest idle connections to make room (--web.max-connections)');
      tracked.delete(keyOf(victim.socket));
      victim.socket.destroy();
    }
    const key = keyOf(socket);
    tracked.set(key, { socket, busy: 0 });
    socket.once('close', () => {
      if (tracked.get(key)?.socket === socket) tracked.delete(key);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // For HTTPS req.socket is the TLS socket over the tracked one; both share the peer's address.
    const entry = tracked.get(keyOf(req.socket));
    if (entry === undefined) return;
    entry.busy++;
    slots.set(res, entry);
    res.once('close', () => releaseSlot(res));
  });

  return {
    get open() {
      return tracked.size;
    },
  };
}
