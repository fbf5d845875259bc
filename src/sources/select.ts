import type { Logger } from 'pino';
import type { SocketSourceChoice } from './flags.js';
import { oneLine } from '../errors.js';
import { NetlinkUnavailableError } from '../netlink/errors.js';
import type { ProcRoot } from '../procfs/proc-root.js';
import { ProcfsSource } from './procfs.js';
import type { RequestedDump, ScanResult, SocketSink, SocketSource, SocketSourceName } from '../kernel/socket-record.js';

/** Opens the netlink source; throws when netlink cannot be used here. */
export type NetlinkOpener = () => SocketSource;

/**
 * Netlink with a procfs fallback. If netlink is refused at the first scan (a seccomp profile,
 * say), it logs once and uses procfs from then on, so the exporter keeps serving.
 */
class FallbackSource implements SocketSource {
  private fellBack = false;

  constructor(
    private readonly primary: SocketSource,
    private readonly fallback: SocketSource,
    private readonly logger: Logger,
  ) {}

  get name(): SocketSourceName {
    return this.fellBack ? this.fallback.name : this.primary.name;
  }

  async scan(sink: SocketSink): Promise<ScanResult> {
    if (!this.fellBack) {
      try {
        return await this.primary.scan(sink);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        this.fellBack = true;
        this.logger.warn({ err: oneLine(error), source: 'procfs' }, 'netlink socket diagnostics refused; reading /proc/net/tcp instead');
      }
    }
    return this.fallback.scan(sink);
  }

  /** Netlink's, until it was refused: procfs has no requests of its own. */
  requestedDump(): RequestedDump | undefined {
    return this.fellBack ? undefined : this.primary.requestedDump?.();
  }
}

// errors.ts loads no koffi, so a procfs-only exporter never loads the FFI.
function isUnavailable(error: unknown): boolean {
  return error instanceof NetlinkUnavailableError;
}

/**
 * Picks the socket source for --collector.sockets.source. `auto` means netlink when the exporter
 * reads its own namespace (--path.procfs is /proc), because netlink can only see the namespace the
 * process is in; procfs when --path.procfs points elsewhere or netlink is unavailable.
 */
export function selectSocketSource(choice: SocketSourceChoice, proc: ProcRoot, openNetlink: NetlinkOpener, logger: Logger): SocketSource {
  const procfs = new ProcfsSource(proc);
  if (choice === 'procfs') return procfs;
  if (choice === 'auto' && proc.root !== '/proc') {
    logger.info({ source: 'procfs', path: proc.root }, '--path.procfs is not /proc: reading sockets from procfs, as netlink only sees this process\'s namespace');
    return procfs;
  }
  let netlink: SocketSource;
  try {
    netlink = openNetlink();
  } catch (error) {
    if (choice === 'netlink' || !isUnavailable(error)) throw error;
    logger.warn({ err: oneLine(error), source: 'procfs' }, 'netlink socket diagnostics unavailable; reading /proc/net/tcp instead');
    return procfs;
  }
  return choice === 'netlink' ? netlink : new FallbackSource(netlink, procfs, logger);
}
