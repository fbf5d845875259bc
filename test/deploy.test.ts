import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseCommandLine } from '../src/cli.js';
import { COLLECTORS } from '../src/collectors/index.js';
import { parseConfig } from '../src/config.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** The flags a deployment passes must be ones the exporter accepts, or it crash-loops. */
function acceptsFlags(args: string[]): void {
  const parsed = parseCommandLine(args, COLLECTORS, () => undefined);
  expect(() => parseConfig(parsed.flags, COLLECTORS)).not.toThrow();
}

describe('deploy/kubernetes', () => {
  /** Each kustomization (or component) lists every manifest next to it, and each parses. */
  it.each(['deploy/kubernetes', 'deploy/kubernetes/base', 'deploy/kubernetes/components/kube-rbac-proxy'])('%s lists every manifest in its directory', (dir) => {
    const kustomization = parseAllDocuments(read(`${dir}/kustomization.yaml`))[0]!.toJS() as { resources: string[] };
    const manifests = readdirSync(new URL(`../${dir}`, import.meta.url)).filter((f) => f !== 'kustomization.yaml' && f.endsWith('.yaml'));
    expect(kustomization.resources.filter((r) => r.endsWith('.yaml')).sort()).toEqual(manifests.sort());
    for (const file of manifests) {
      for (const document of parseAllDocuments(read(`${dir}/${file}`))) {
        expect(document.errors).toEqual([]);
        expect(document.toJS()).toHaveProperty('kind');
      }
    }
  });
});

describe('deploy/systemd', () => {
  /** The ExecStart= lines of a unit or drop-in, continuation lines joined, split into words. */
  const execStarts = (file: string): string[][] =>
    [...read(file).matchAll(/^ExecStart=((?:[^\n]*\\\n)*[^\n]*)/gm)].map((m) => m[1]!.replace(/\\\n/g, ' ').trim().split(/\s+/).filter((w) => w !== ''));

  it('ExecStart runs /usr/local/bin/tcpstate-exporter with flags the exporter accepts', () => {
    const [execStart] = execStarts('deploy/systemd/tcpstate-exporter.service');
    expect(execStart![0]).toBe('/usr/local/bin/tcpstate-exporter');
    acceptsFlags(execStart!.slice(1));
    expect(read('deploy/systemd/tcpstate-exporter.service')).toMatch(/^RestrictAddressFamilies=.*AF_NETLINK/m);
  });

  it('the process-collector drop-in resets ExecStart, then runs the same command with --collector.process', () => {
    const [reset, execStart] = execStarts('deploy/systemd/process-collector.conf');
    expect(reset).toEqual([]);
    expect(execStart![0]).toBe('/usr/local/bin/tcpstate-exporter');
    expect(execStart).toContain('--collector.process');
    acceptsFlags(execStart!.slice(1));
  });
});

describe('Dockerfile', () => {
  it('is multi-stage and runs as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(0|root)$/);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/dist/main.js"]');
  });
});
