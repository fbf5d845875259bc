/** node_exporter's listener conventions: several --web.listen-address, and systemd socket activation. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort, startExporter } from '../helpers/exporter-process.js';
import { exporterBin } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { waitFor } from '../helpers/wait-for.js';

describe('listeners', () => {
  it('serves on every --web.listen-address given, not only the last', async () => {
    const second = await freePort('127.0.0.2');
    const exporter = await startExporter([`--web.listen-address=127.0.0.2:${second}`]);
    try {
      for (const url of [exporter.url, `http://127.0.0.2:${second}`]) {
        const response = await fetch(`${url}/metrics`);
        expect(response.status, url).toBe(200);
        expect(await response.text()).toMatch(/^tcpstate_sockets\{/m);
      }
      expect(exporter.logs()).toMatch(new RegExp(`msg=listening address=127\\.0\\.0\\.2:${second},127\\.0\\.0\\.1:${exporter.port}|msg=listening address=127\\.0\\.0\\.1:${exporter.port},127\\.0\\.0\\.2:${second}`));
    } finally {
      await exporter.stop();
    }
  });

  const activate = toolOrSkip('systemd-socket-activate', 'systemd');
  it.skipIf(!activate.available)('--web.systemd-socket serves on the socket systemd passes', async () => {
    const port = await freePort();
    const child = spawn(activate.path!, ['-l', `127.0.0.1:${port}`, process.execPath, exporterBin, '--web.systemd-socket'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    try {
      // systemd-socket-activate accepts nothing itself: it execs the exporter on the first connection.
      const body = await waitFor('a scrape through the activated socket', async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        return response?.ok === true ? response.text() : undefined;
      });
      expect(body).toMatch(/^tcpstate_sockets\{/m);
      expect(logs).toMatch(/msg=listening address="systemd socket fd 3"/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('--web.systemd-socket without systemd is one clear line and exit 1', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [exporterBin, '--web.systemd-socket'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LISTEN_FDS: undefined, LISTEN_PID: undefined } });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toBe('tcpstate-exporter: error: --web.systemd-socket: systemd passed no socket (LISTEN_PID/LISTEN_FDS unset or for another process); start it from a .socket unit');
  });
});
