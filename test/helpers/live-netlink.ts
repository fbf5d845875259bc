import { NetlinkUnavailableError } from '../../src/netlink/errors.js';
import { createNetlinkSource } from '../../src/netlink/probe.js';
import type { NetlinkSourceOptions } from '../../src/netlink/source.js';
import type { NetlinkSource } from '../../src/netlink/source.js';

/**
 * This host's netlink socket source (inline unless `options` say otherwise), or undefined where
 * sock_diag cannot be used, with a warning that `what` is skipped. Under CI=true that is an error
 * instead: CI must run them.
 */
export function liveNetlinkOrSkip(what: string, options: NetlinkSourceOptions = { thread: 'inline' }): NetlinkSource | undefined {
  try {
    return createNetlinkSource(options);
  } catch (error) {
    if (!(error instanceof NetlinkUnavailableError)) throw error;
    if (process.env.CI === 'true') throw new Error(`CI=true but ${error.message}`);
    console.warn(`skipping ${what}: ${error.message}`);
    return undefined;
  }
}
