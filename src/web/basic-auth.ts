import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { PasswordVerifier } from './bcrypt-worker.js';
import { releaseSlot } from './connection-limits.js';
import { sendPlain } from './plain-errors.js';
import type { WebConfigSpec } from './web-config.js';

/** Comparisons waiting for or running on the bcrypt thread; past this, failures are answered without a hash. */
export const MAX_PENDING_VERIFICATIONS = 4;
/**
 * An attempt refused without a hash waits about this long for its answer (250-750 ms). A timer
 * costs no CPU, and a client that retries as soon as it is answered can no longer turn 429s into
 * a busy loop. The jitter keeps many such clients from coming back in one burst.
 */
export const REFUSAL_PAUSE_MS = 500;
/** Verified (user, password, hash) triples remembered; Prometheus needs one per scrape config. */
const CACHE_SIZE = 256;

export interface Credentials {
  user: string;
  password: string;
}

/** The user and password of an `Authorization: Basic ...` header; the scheme is case-insensitive (RFC 7617). */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  const match = /^basic[ \t]+([A-Za-z0-9+/=]*)[ \t]*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Basic auth as exporter-toolkit does it, made safe to expose:
 *  - a successful verification is cached under a digest of user, password and bcrypt hash, so a
 *    scrape costs one hash per password change, and changing the hash in the file invalidates it;
 *  - an unknown user costs the same bcrypt work as a known one (against a configured hash, result
 *    discarded), so timing does not tell which users exist;
 *  - bcrypt runs on a worker thread, and at most MAX_PENDING_VERIFICATIONS at a time: beyond that
 *    an uncached attempt is answered 429 without a hash (after REFUSAL_PAUSE_MS, which costs a
 *    timer), so wrong passwords can neither queue up work nor spin the event loop.
 */
export class BasicAuth {
  private readonly verified = new Map<string, true>();

  constructor(
    private readonly config: () => WebConfigSpec,
    private readonly verifier: PasswordVerifier,
    private readonly maxPending: number = MAX_PENDING_VERIFICATIONS,
  ) {}

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const { users, authExcludedPaths } = this.config();
    if (users.size === 0 || authExcludedPaths.includes(req.path)) return next();
    const credentials = parseBasicAuthorization(req.headers.authorization);
    if (credentials === undefined) return this.refuse(res);
    const known = users.get(credentials.user);
    // Any configured hash has the cost the attacker would otherwise time against.
    const hash = known ?? users.values().next().value!;
    const digest = createHash('sha256').update(credentials.user).update('\0').update(credentials.password).update('\0').update(hash).digest('base64');
    if (known !== undefined && this.verified.has(digest)) {
      // Re-insert: the Map's order is the eviction order.
      this.verified.delete(digest);
      this.verified.set(digest, true);
      return next();
    }
    if (this.verifier.pending >= this.maxPending) {
      releaseSlot(res);
      const timer = setTimeout(() => {
        res.set('Retry-After', '1');
        sendPlain(res, 429, 'Too many authentication attempts in progress; retry later');
      }, REFUSAL_PAUSE_MS * (0.5 + Math.random()));
      res.once('close', () => clearTimeout(timer));
      return;
    }
    this.verifier.compare(credentials.password, hash).then((ok) => {
      if (!ok || known === undefined) return this.refuse(res);
      this.remember(digest);
      next();
    }, () => this.refuse(res));
  };

  private remember(digest: string): void {
    this.verified.set(digest, true);
    if (this.verified.size > CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
  }

  private refuse(res: Response): void {
    res.set('WWW-Authenticate', 'Basic realm="tcpstate-exporter", charset="UTF-8"');
    sendPlain(res, 401, 'Unauthorized');
  }
}
