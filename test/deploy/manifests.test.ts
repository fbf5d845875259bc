import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseCommandLine } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/config.js';
import { freePort, startExporter } from '../helpers/exporter-process.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The flags a deployment passes must be ones the exporter accepts, or it crash-loops. */
function acceptsFlags(args: string[]): void {
  const parsed = parseCommandLine(args, COLLECTORS, () => undefined);
  expect(() => parseConfig(parsed.flags, COLLECTORS)).not.toThrow();
}

describe('deploy/kubernetes', () => {
  /** Each kustomization (or component) lists every manifest next to it, and each parses. */
  it.each(['deploy/kubernetes', 'deploy/kubernetes/base', 'deploy/kubernetes/components/kube-rbac-proxy'])('%s lists every manifest in its directory', (dir) => {
    const kustomization = parseAllDocuments(read(`${dir}/kustomization.yaml`))[0]!.toJS() as { resources: string[] };
    const manifests = readdirSync(new URL(`../../${dir}`, import.meta.url)).filter((f) => f !== 'kustomization.yaml' && f.endsWith('.yaml'));
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

describe('Dockerfile (checked statically: no container engine here)', () => {
  const text = read('Dockerfile');
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const args = (instruction: Instruction): string[] => instruction.getArguments().map((a) => a.getValue());
  const stages = dockerfile.getFROMs();
  const runtime = instructions.slice(instructions.indexOf(stages[stages.length - 1]!));
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };

  it('parses and lints clean (dockerfile-utils)', () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds and runs on a supported Node LTS (22 or 24), one the engines field allows', () => {
    expect(stages).toHaveLength(2);
    for (const from of stages) {
      const image = from.getImageName() + ':' + from.getImageTag();
      expect(image).toMatch(/^node:(22|24)-/);
      const major = /^node:(\d+)/.exec(image)![1]!;
      expect(pkg.engines.node).toMatch(new RegExp(`(\\^|>=)${major}\\.`));
    }
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const isIgnored = (path: string): boolean => ignored.some((pattern) => pattern.startsWith('*.') ? path.endsWith(pattern.slice(1)) : path === pattern || path.startsWith(`${pattern}/`));
    const fromContext = dockerfile.getCOPYs().filter((copy) => copy.getFromFlag() === null);
    expect(fromContext.length).toBeGreaterThan(0);
    for (const copy of fromContext) {
      for (const source of args(copy).slice(0, -1)) {
        expect(existsSync(new URL(`../../${source}`, import.meta.url)), source).toBe(true);
        expect(isIgnored(source), `${source} is excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it('runs the built package’s bin as a non-root user', () => {
    const entrypoint = runtime.find((i) => i.getKeyword() === 'ENTRYPOINT')!;
    const workdir = args(runtime.find((i) => i.getKeyword() === 'WORKDIR')!)[0]!;
    expect(args(entrypoint)).toEqual(['["node",', `"${workdir}/${pkg.bin['tcpstate-exporter']}"]`]);
    // The runtime stage copies dist/ from the build stage, where tsc writes it.
    const tsconfigBuild = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string } };
    expect(pkg.bin['tcpstate-exporter']!.startsWith(`${tsconfigBuild.compilerOptions.outDir}/`)).toBe(true);
    const copied = dockerfile.getCOPYs().filter((c) => c.getFromFlag()?.getValue() === 'build').map((c) => args(c).slice(-1)[0]);
    expect(copied).toContain(`./${tsconfigBuild.compilerOptions.outDir}`);
    const user = args(runtime.find((i) => i.getKeyword() === 'USER')!)[0]!;
    expect(user.split(':')[0]).not.toMatch(/^(0|root)$/);
  });

  describe('HEALTHCHECK', () => {
    const healthcheck = runtime.find((i) => i.getKeyword() === 'HEALTHCHECK')!;
    /** The exec-form command after CMD, as JSON. */
    const command = JSON.parse(/CMD\s+(\[.*\])\s*$/s.exec(healthcheck.getTextContent().replace(/\\\n/g, ''))![1]!) as string[];

    it('uses node, not curl, which the image lacks', () => {
      expect(command.slice(0, 2)).toEqual(['node', '-e']);
    });

    it('passes against a running exporter and fails against a closed port', async () => {
      const exporter = await startExporter([], [process.execPath], process.env);
      try {
        const check = (url: string): Promise<number> =>
          new Promise((resolve) => execFile(process.execPath, command.slice(1), { env: { ...process.env, TCPSTATE_HEALTHCHECK_URL: url } }, (error) => resolve(error ? (error.code as number) : 0)));
        expect(await check(`${exporter.url}/-/healthy`)).toBe(0);
        const closed = await freePort();
        expect(await check(`http://127.0.0.1:${closed}/-/healthy`)).toBe(1);
      } finally {
        await exporter.stop();
      }
    });
  });
});
