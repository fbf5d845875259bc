/**
 * deploy/compose/docker-compose.yml is accepted by Debian's docker-compose 1.29 (which rejects a
 * top-level `name:`), with the project name from .env that Compose v2 reads too. Only `config`
 * runs: there is no container engine on the test machines.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';
import { run, scratchDir } from './helpers.js';

const composeDir = join(repoRoot, 'deploy', 'compose');

describe('deploy/compose under docker-compose 1.29', () => {
  const compose = toolOrSkip('docker-compose', 'docker-compose');

  it('has no top-level key Compose 1.29 rejects, and names the project in .env', () => {
    const file = parse(readFileSync(join(composeDir, 'docker-compose.yml'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(file).filter((key) => !['services', 'volumes', 'networks', 'configs', 'secrets'].includes(key) && !key.startsWith('x-'))).toEqual([]);
    expect(readFileSync(join(composeDir, '.env'), 'utf8')).toMatch(/^COMPOSE_PROJECT_NAME=tcpstate$/m);
  });

  it.skipIf(!compose.available)('docker-compose config accepts it and resolves every service', async () => {
    const { stdout, stderr } = await run(compose.path!, ['config'], { cwd: composeDir });
    expect(stderr).toBe('');
    const resolved = parse(stdout) as { services: Record<string, { network_mode?: string; volumes?: string[] }> };
    expect(Object.keys(resolved.services).sort()).toEqual(['alertmanager', 'grafana', 'prometheus', 'tcpstate-exporter']);
    expect(resolved.services['tcpstate-exporter']!.network_mode).toBe('host');
    // Bind mounts resolved to files of this repository.
    expect(resolved.services.prometheus!.volumes).toContain(`${join(repoRoot, 'alerts', 'tcpstate.rules.yml')}:/etc/prometheus/rules/tcpstate.rules.yml:ro`);
  });

  it.skipIf(!compose.available)('docker-compose config rejects the same file with a top-level name (the check is real)', async () => {
    const scratch = scratchDir('compose');
    try {
      const file = join(scratch.dir, 'docker-compose.yml');
      writeFileSync(file, `name: tcpstate\n${readFileSync(join(composeDir, 'docker-compose.yml'), 'utf8')}`);
      const failure = await run(compose.path!, ['-f', file, 'config'], { cwd: scratch.dir }).then(() => undefined, (error: { stderr: string }) => error);
      expect(failure?.stderr).toContain("'name' does not match");
    } finally {
      scratch.remove();
    }
  });
});
