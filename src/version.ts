import { readFileSync } from 'node:fs';
import { release } from 'node:os';

/** The package version, read from package.json next to dist/ or src/. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What the build wrote beside the compiled code (scripts/write-build-info.mjs), if it did. */
function buildInfo(): { revision: string; date: string } {
  try {
    const info = JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as { revision?: unknown; date?: unknown };
    return { revision: typeof info.revision === 'string' ? info.revision : 'unknown', date: typeof info.date === 'string' ? info.date : 'unknown' };
  } catch {
    return { revision: 'unknown', date: 'unknown' };
  }
}

/** `--version`, laid out as node_exporter's: what runs, built from what, on what. */
export function versionText(): string {
  const { revision, date } = buildInfo();
  return [
    `tcpstate-exporter, version ${VERSION} (revision: ${revision})`,
    `  build date:       ${date}`,
    `  node version:     ${process.version}`,
    `  platform:         ${process.platform}/${process.arch}`,
    `  kernel:           ${release()}`,
    '',
  ].join('\n');
}
