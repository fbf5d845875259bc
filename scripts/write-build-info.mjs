// @ts-check
/**
 * Writes dist/build-info.json after `tsc`: the commit the build came from and when, for
 * `tcpstate-exporter --version`. Outside a git checkout (a package or release tarball being
 * rebuilt) the revision is "unknown". SOURCE_DATE_EPOCH, where set, fixes the date, so a
 * reproducible build stays reproducible.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repo, encoding: 'utf8' });
const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo, encoding: 'utf8' });
const revision = git.status === 0 ? `${git.stdout.trim()}${dirty.status === 0 && dirty.stdout.trim() !== '' ? '-dirty' : ''}` : 'unknown';
const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify({ revision, date })}\n`);
