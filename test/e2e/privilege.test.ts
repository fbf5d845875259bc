/**
 * Least privilege, as the exporter itself sees it: it says when it runs as root for nothing (no
 * process, netns or cgroup collector), and
 * when it lacks what the process collector needs, instead of quietly reporting process="unknown".
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from '../helpers/exposition.js';
import { startExporter } from '../helpers/exporter-process.js';
import { exporterBin } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const run = promisify(execFile);
const setpriv = toolOrSkip('setpriv', 'util-linux');
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('CI=true but the privilege tests need root (to drop it)');

describe.skipIf(!setpriv.available || !isRoot)('privilege', () => {
  let listener: ChildProcess;
  let port: number;

  beforeAll(async () => {
    // A socket held by another user (nobody): what the process collector must ask permission for.
    listener = spawn(setpriv.path!, ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', 'import socket,sys,time\ns=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    port = await new Promise<number>((resolve, reject) => {
      listener.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      listener.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
    });
  });
  afterAll(() => {
    listener?.kill('SIGKILL');
  });

  it('root with no collector that needs it: one warning at start', async () => {
    // netns (other processes' /proc/<pid>/ns/net) and cgroup (root-only runtime state) may use root.
    const exporter = await startExporter(['--no-collector.netns', '--no-collector.cgroup']);
    await exporter.stop();
    expect(exporter.logs()).toMatch(/level=warn msg="running as root, which no enabled collector needs/);
  });

  it.each([[['--no-collector.cgroup']], [['--no-collector.netns']]])('root for the default netns or cgroup collector (%j): no such warning', async (flags) => {
    const exporter = await startExporter(flags);
    await exporter.stop();
    expect(exporter.logs()).not.toMatch(/running as root/);
  });

  it('root for the process collector: no such warning', async () => {
    const exporter = await startExporter(['--collector.process']);
    await exporter.stop();
    expect(exporter.logs()).not.toMatch(/running as root/);
  });

  it('root with CAP_DAC_READ_SEARCH but not CAP_SYS_PTRACE: fd/ lists, its links are refused, and that is counted and logged', async () => {
    const { stdout, stderr } = await run(setpriv.path!, ['--bounding-set=-all,+dac_read_search', process.execPath, exporterBin, 'collect', '--collector.disable-defaults', '--collector.process'], { timeout: 60_000 });
    const samples = parseExposition(stdout);
    expect(valueOf(samples, 'tcpstate_process_unreadable')).toBeGreaterThanOrEqual(1);
    expect(stderr).toMatch(/level=warn msg="some processes could not be inspected, so their sockets count as process=\\"unknown\\": attributing other users' sockets needs root with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH/);
    expect(port).toBeGreaterThan(0);
  });
});
