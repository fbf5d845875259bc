/**
 * deploy/compose: the files docker-compose.yml mounts exist, the configs it mounts pass the real
 * checkers (promtool check config with the project's rules, amtool check-config), Grafana's
 * provisioning points at the mounted dashboard and at the Prometheus service, and the exporter's
 * flags exist. Docker itself is not needed (nor available on the test machines).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseCommandLine } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/config.js';
import { resolveOwnerPaths } from '../../src/owners/flags.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { toolOrSkip } from '../helpers/require-tool.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const composeDir = join(repoRoot, 'deploy', 'compose');
const composeFile = join(composeDir, 'docker-compose.yml');

interface Service {
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  command?: string[];
  volumes?: string[];
  network_mode?: string;
  pid?: string;
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: string[];
}
/** The host directories the exporter may mount (under /host): docs/kubernetes.md says why each. */
const HOST_MOUNTS = ['/proc', '/sys/fs/cgroup', '/var/lib/docker/containers', '/run/docker/netns', '/run/netns'];
const compose = parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;

interface Mount {
  /** Absolute host path for bind mounts; undefined for named volumes. */
  host?: string;
  /** The source as written (a path or a named volume). */
  source: string;
  container: string;
  mode?: string;
}

/** A service's volumes, bind-mount sources resolved against deploy/compose. */
function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, container, mode] = spec.split(':') as [string, string, string | undefined];
    const isPath = source.startsWith('.') || source.startsWith('/');
    return { source, container, ...(mode ? { mode } : {}), ...(isPath ? { host: resolve(composeDir, source) } : {}) };
  });
}

/** The host path mounted at a container path (a file, or a file inside a mounted directory). */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  for (const mount of mounts(service)) {
    if (mount.host === undefined) continue;
    if (containerPath === mount.container) return mount.host;
    if (containerPath.startsWith(`${mount.container}/`)) return join(mount.host, posix.relative(mount.container, containerPath));
  }
  return undefined;
}

function flagValue(service: Service, flag: string): string | undefined {
  return service.command?.find((arg) => arg.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

describe('deploy/compose/docker-compose.yml', () => {
  it('has the exporter, Prometheus, Alertmanager and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'grafana', 'prometheus', 'tcpstate-exporter']);
  });

  it('mounts only files and directories that exist (and the host /proc), each read-only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mounts(service)) {
        if (mount.host === undefined) {
          expect(compose.volumes ?? {}, `${name}: named volume ${mount.source}`).toHaveProperty(mount.source);
          continue;
        }
        if (mount.source.startsWith('/')) {
          // The host's own directories, only for the exporter and only under /host (--path.rootfs).
          expect(name, `${name}: absolute host path ${mount.source}`).toBe('tcpstate-exporter');
          expect(HOST_MOUNTS, `${name}: absolute host path`).toContain(mount.source);
          expect(mount.container).toBe(`/host${mount.source}`);
        } else {
          expect(existsSync(mount.host), `${name}: ${mount.source} (${mount.host}) does not exist`).toBe(true);
        }
        expect(mount.mode?.split(',')[0], `${name}: ${mount.source} should be mounted :ro`).toBe('ro');
      }
    }
  });

  it('builds the exporter from the repository root, where the Dockerfile is', () => {
    const build = services['tcpstate-exporter']!.build;
    const context = typeof build === 'string' ? build : build!.context;
    const dockerfile = typeof build === 'object' && build.dockerfile ? build.dockerfile : 'Dockerfile';
    expect(resolve(composeDir, context)).toBe(resolve(repoRoot));
    expect(statSync(join(resolve(composeDir, context), dockerfile)).isFile()).toBe(true);
  });

  it('runs the exporter in the host network and pid namespaces, reading the host /proc', () => {
    const exporter = services['tcpstate-exporter']!;
    expect(exporter.network_mode).toBe('host'); // netlink and /proc/net see the host's sockets
    expect(exporter.pid).toBe('host');
    expect(exporter.ports, 'ports cannot be published with network_mode: host').toBeUndefined();
    const procfs = flagValue(exporter, '--path.procfs');
    expect(procfs).toBe('/host/proc');
    expect(mounts(exporter)).toContainEqual({ source: '/proc', host: '/proc', container: procfs, mode: 'ro' });
  });

  it('gives the exporter only the capabilities the process and netns collectors need, each named in a comment', () => {
    const exporter = services['tcpstate-exporter']! as Service & { cap_drop?: string[]; cap_add?: string[]; privileged?: boolean; security_opt?: string[] };
    expect(exporter.privileged).toBeUndefined();
    expect(exporter.cap_drop).toEqual(['ALL']);
    expect([...(exporter.cap_add ?? [])].sort()).toEqual(['DAC_READ_SEARCH', 'SYS_ADMIN', 'SYS_PTRACE']);
    const text = readFileSync(composeFile, 'utf8');
    for (const capability of exporter.cap_add ?? []) expect(text, `a comment says why ${capability}`).toMatch(new RegExp(`#.*\\b${capability}\\b`));
    // docker-default AppArmor confines ptrace read to its own peers: the host's /proc/<pid>/ns/net.
    expect(exporter.security_opt).toEqual(expect.arrayContaining(['no-new-privileges:true', 'apparmor=unconfined']));
  });

  it('mounts what the netns collector reads with the flags it passes: the runtime state and the namespace bind mounts, read-only, new ones propagated', () => {
    const exporter = services['tcpstate-exporter']!;
    const args = exporter.command ?? [];
    const paths = resolveOwnerPaths(parseConfig(parseCommandLine(args, COLLECTORS, () => undefined).flags, COLLECTORS).owners);
    const byContainer = new Map(mounts(exporter).map((mount) => [mount.container, mount]));
    for (const dir of [...paths.runtimeState.dockerContainers, ...paths.ipNetnsDirs, ...paths.otherNetnsDirs]) expect(byContainer.has(dir), `${dir} is read but not mounted`).toBe(true);
    for (const dir of [...paths.ipNetnsDirs, ...paths.otherNetnsDirs]) expect(byContainer.get(dir)!.mode).toBe('ro,rslave');
    // The host's cgroup tree (found through mountinfo), for the cgroup collector, over netlink.
    expect(byContainer.get('/host/sys/fs/cgroup')?.source).toBe('/sys/fs/cgroup');
    expect(flagValue(exporter, '--collector.sockets.source')).toBe('netlink');
  });

  it('passes the exporter only flags it accepts (the real command-line parser and config)', () => {
    const args = services['tcpstate-exporter']!.command ?? [];
    expect(args.length).toBeGreaterThan(0);
    expect(() => parseConfig(parseCommandLine(args, COLLECTORS, () => undefined).flags, COLLECTORS)).not.toThrow();
  });
});

describe('deploy/compose configs pass the real checkers', () => {
  const promtool = toolOrSkip('promtool', 'prometheus');
  const amtool = toolOrSkip('amtool', 'prometheus-alertmanager');
  const scratch = mkdtempSync(join(tmpdir(), 'tcpstate-compose-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const prometheus = services.prometheus!;
  const configInContainer = flagValue(prometheus, '--config.file')!;
  const configOnHost = hostPathOf(prometheus, configInContainer);

  it('mounts the Prometheus config at --config.file, and the project rules where it loads them', () => {
    expect(configOnHost, `${configInContainer} is not mounted`).toBe(join(composeDir, 'prometheus', 'prometheus.yml'));
    const config = parse(readFileSync(configOnHost!, 'utf8')) as { rule_files: string[] };
    expect(config.rule_files.map((file) => hostPathOf(prometheus, file))).toEqual([join(repoRoot, 'alerts', 'tcpstate.rules.yml')]);
  });

  it.skipIf(!promtool.available)('promtool check config (rule files read through the compose mounts)', async () => {
    // The config names container paths; rewrite them to the host files compose mounts there.
    const config = parse(readFileSync(configOnHost!, 'utf8')) as { rule_files: string[] };
    config.rule_files = config.rule_files.map((file) => hostPathOf(prometheus, file)!);
    const copy = join(scratch, 'prometheus.yml');
    writeFileSync(copy, stringify(config));
    const { stdout } = await run(promtool.path!, ['check', 'config', copy]);
    expect(stdout).toContain('SUCCESS');
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('scrapes the exporter under a job the TCPStateExporterDown matcher covers, and sends alerts to the alertmanager service', () => {
    const config = parse(readFileSync(configOnHost!, 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const rules = readFileSync(join(repoRoot, 'alerts', 'tcpstate.rules.yml'), 'utf8');
    const jobMatcher = /up\{job=~"([^"]+)"\}/.exec(rules)?.[1];
    expect(jobMatcher).toBeDefined();
    const exporterJobs = config.scrape_configs.filter((job) => job.static_configs.some((s) => s.targets.some((t) => t.endsWith(':9977'))));
    expect(exporterJobs).toHaveLength(1);
    expect(new RegExp(`^(?:${jobMatcher})$`).test(exporterJobs[0]!.job_name)).toBe(true);
    const alertmanagers = config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets));
    expect(alertmanagers).toEqual(['alertmanager:9093']);
    expect(services.prometheus!.depends_on).toContain('alertmanager');
  });

  it.skipIf(!amtool.available)('amtool check-config', async () => {
    const alertmanager = services.alertmanager!;
    const file = hostPathOf(alertmanager, flagValue(alertmanager, '--config.file')!);
    expect(file).toBe(join(composeDir, 'alertmanager', 'alertmanager.yml'));
    const { stdout } = await run(amtool.path!, ['check-config', file!]);
    expect(stdout).toContain('SUCCESS');
  });

  it('provisions Grafana with the Prometheus service as the default datasource', () => {
    const grafana = services.grafana!;
    const dir = hostPathOf(grafana, '/etc/grafana/provisioning/datasources');
    expect(dir).toBeDefined();
    const file = parse(readFileSync(join(dir!, 'prometheus.yml'), 'utf8')) as { datasources: { type: string; url: string; isDefault: boolean; jsonData?: { timeInterval?: string } }[] };
    expect(file.datasources).toHaveLength(1);
    const datasource = file.datasources[0]!;
    expect(datasource).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
    const promConfig = parse(readFileSync(configOnHost!, 'utf8')) as { global: { scrape_interval: string } };
    expect(datasource.jsonData?.timeInterval, 'Grafana computes $__rate_interval from the scrape interval').toBe(promConfig.global.scrape_interval);
  });

  it('provisions the dashboard from the mounted grafana/tcpstate.json', () => {
    const grafana = services.grafana!;
    const dir = hostPathOf(grafana, '/etc/grafana/provisioning/dashboards');
    const provider = parse(readFileSync(join(dir!, 'tcpstate.yml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(provider.providers).toHaveLength(1);
    const dashboardsDir = provider.providers[0]!.options.path;
    expect(hostPathOf(grafana, posix.join(dashboardsDir, 'tcpstate.json'))).toBe(join(repoRoot, 'grafana', 'tcpstate.json'));
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home !== undefined) expect(hostPathOf(grafana, home)).toBe(join(repoRoot, 'grafana', 'tcpstate.json'));
  });
});
