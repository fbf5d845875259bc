import type { NextFunction, Request, Response } from 'express';
import { sendPlain } from './plain-errors.js';
import type { WebConfigSpec } from './web-config.js';

/**
 * exporter-toolkit's rate_limit: a token bucket of `burst` tokens refilled one per `interval`,
 * shared by all clients; an empty bucket answers 429. The bucket follows the config on reload.
 */
export function rateLimit(config: () => WebConfigSpec, now: () => number = Date.now) {
  let tokens = 0;
  let last = now();
  let settings: WebConfigSpec['rateLimit'];
  return (_req: Request, res: Response, next: NextFunction): void => {
    const current = config().rateLimit;
    if (current === undefined) return next();
    const time = now();
    if (current !== settings) {
      settings = current;
      tokens = current.burst;
      last = time;
    }
    tokens = Math.min(current.burst, tokens + (time - last) / current.intervalMs);
    last = time;
    if (tokens < 1) {
      sendPlain(res, 429, 'Too Many Requests');
      return;
    }
    tokens -= 1;
    next();
  };
}
