import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { oneLine } from '../errors.js';
import { loadWebConfig, type LoadedWebConfig } from './load-web-config.js';
import type { TlsMaterial } from './tls.js';
import { NO_WEB_CONFIG, type WebConfigSpec } from './web-config.js';

/** Files are stat'ed at most this often, whatever the connection rate. */
const CHECK_INTERVAL_MS = 1000;

/** inode, size and mtime of each file: a rename over it (as cert-manager and editors do) changes the inode. */
function fingerprint(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const stat = statSync(file, { bigint: true });
        return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * The web config in force, re-read when its file or a certificate, key or CA it names changes
 * (checked on new connections, at most once a second) and on SIGHUP. exporter-toolkit re-reads
 * the file on every request; checking the fingerprint instead gives the same effect without
 * parsing YAML and PEM per connection. A reload that fails keeps the config in force and logs
 * one error line; the same broken files are not reported again until they change.
 */
export class ReloadableWebConfig {
  private loaded: LoadedWebConfig;
  private seen: string;
  private lastCheck = 0;
  private readonly tlsListeners: ((material: TlsMaterial) => void)[] = [];

  private constructor(
    private readonly file: string | undefined,
    initial: LoadedWebConfig,
    private readonly logger: Logger,
  ) {
    this.loaded = initial;
    this.seen = this.currentFingerprint();
    this.warn(initial);
  }

  /** Loads at start; bad config or TLS material throws a ConfigError (exit 2). */
  static start(file: string | undefined, logger: Logger): ReloadableWebConfig {
    const initial = file === undefined ? { spec: NO_WEB_CONFIG, tls: undefined } : loadWebConfig(file);
    return new ReloadableWebConfig(file, initial, logger);
  }

  get spec(): WebConfigSpec {
    return this.loaded.spec;
  }

  get tls(): TlsMaterial | undefined {
    return this.loaded.tls;
  }

  onTlsChange(listener: (material: TlsMaterial) => void): void {
    this.tlsListeners.push(listener);
  }

  /** Cheap enough to call per connection: stats the files at most once a second. */
  checkForChanges(now: number = Date.now()): void {
    if (this.file === undefined || now - this.lastCheck < CHECK_INTERVAL_MS) return;
    this.lastCheck = now;
    if (this.currentFingerprint() !== this.seen) this.reload('file changed');
  }

  /** Re-reads the files now; returns whether the new config is in force. */
  reload(reason: string): boolean {
    if (this.file === undefined) {
      this.logger.info({ reason }, 'no --web.config.file to reload');
      return false;
    }
    const fingerprintBefore = this.currentFingerprint();
    let next: LoadedWebConfig;
    try {
      next = loadWebConfig(this.file);
      if ((next.tls === undefined) !== (this.loaded.tls === undefined)) {
        throw new Error('turning TLS on or off needs a restart');
      }
    } catch (error) {
      this.seen = fingerprintBefore;
      this.logger.error({ reason, file: this.file, err: oneLine(error) }, 'web config reload failed; keeping the previous config');
      return false;
    }
    this.loaded = next;
    this.seen = this.currentFingerprint();
    for (const listener of this.tlsListeners) if (next.tls !== undefined) listener(next.tls);
    this.logger.info({ reason, file: this.file, tls: next.tls !== undefined, users: next.spec.users.size }, 'web config reloaded');
    this.warn(next);
    return true;
  }

  private currentFingerprint(): string {
    if (this.file === undefined) return '';
    return fingerprint([this.file, ...(this.loaded.tls?.files ?? [])]);
  }

  private warn(loaded: LoadedWebConfig): void {
    for (const warning of loaded.tls?.warnings ?? []) this.logger.warn({ file: this.file }, warning);
  }
}
