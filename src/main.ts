#!/usr/bin/env node
/**
 * The entry point. It imports nothing of the exporter until it knows the process can load it:
 * Node opens module files in parallel while it loads them, so under a tiny open-file limit the
 * loader itself fails with EMFILE and a stack trace, before any code of ours could say why.
 */
import { readFileSync } from 'node:fs';

/** Enough for the modules, /proc reads, netlink and a few HTTP connections; loading alone takes about 100. */
const MIN_OPEN_FILES = 128;

function fail(message: string): never {
  process.stderr.write(`tcpstate-exporter: error: ${message}\n`);
  process.exit(2);
}

/** The soft limit on open files, from /proc/self/limits; undefined where it cannot be read. */
function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    const value = Number(line?.[1]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const limit = openFilesLimit();
if (limit !== undefined && limit < MIN_OPEN_FILES) {
  fail(`the open-file limit is ${limit}; the exporter needs at least ${MIN_OPEN_FILES}: raise it (ulimit -n, systemd LimitNOFILE=, or the container's nofile ulimit)`);
}
import('./app.js').then(
  (app) => app.run(),
  (error: unknown) => fail(`cannot load the exporter: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`),
);
