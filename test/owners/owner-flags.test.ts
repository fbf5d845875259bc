/**
 * The owners layer's one set of path flags: --path.rootfs re-roots every default host path the
 * cgroup and netns collectors read, a --path.<runtime>.* flag replaces that runtime's defaults as
 * given, and the flags the two collectors used to declare each are gone.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { parseConfig } from '../../src/config/config.js';
import { DEFAULT_OWNER_PATHS, resolveOwnerPaths } from '../../src/owners/flags.js';
import { DEFAULT_RUNTIME_ROOTS } from '../../src/owners/runtime-state.js';

const quiet = (): void => undefined;
const ownerPathsOf = (args: string[]) => resolveOwnerPaths(parseConfig(parseCommandLine(args, COLLECTORS, quiet).flags, COLLECTORS).owners);

describe('--path.rootfs and --path.<runtime>.*', () => {
  it('without flags, the host\'s own directories', () => {
    expect(ownerPathsOf([])).toEqual(DEFAULT_OWNER_PATHS);
    expect(DEFAULT_OWNER_PATHS).toEqual({ runtimeState: DEFAULT_RUNTIME_ROOTS, ipNetnsDirs: ['/run/netns'], otherNetnsDirs: ['/run/docker/netns'] });
  });

  it('--path.rootfs re-roots the runtime state and the namespace bind mounts', () => {
    const paths = ownerPathsOf(['--path.rootfs=/host']);
    expect(paths.runtimeState.containerdTasks).toEqual(['/host/run/containerd/io.containerd.runtime.v2.task', '/host/run/docker/containerd/daemon/io.containerd.runtime.v2.task']);
    expect(paths.runtimeState.crioContainers).toEqual(['/host/run/containers/storage/overlay-containers']);
    expect(paths.runtimeState.dockerContainers).toEqual(['/host/var/lib/docker/containers']);
    expect(paths.ipNetnsDirs).toEqual(['/host/run/netns']);
    expect(paths.otherNetnsDirs).toEqual(['/host/run/docker/netns']);
  });

  it('a runtime flag replaces that runtime\'s defaults as given (not under --path.rootfs), repeatable, and leaves the others re-rooted', () => {
    const paths = ownerPathsOf(['--path.rootfs=/host', '--path.containerd.tasks=/host/run/k3s/containerd/io.containerd.runtime.v2.task', '--path.containerd.tasks', '/opt/tasks']);
    expect(paths.runtimeState.containerdTasks).toEqual(['/host/run/k3s/containerd/io.containerd.runtime.v2.task', '/opt/tasks']);
    expect(paths.runtimeState.dockerContainers).toEqual(['/host/var/lib/docker/containers']);
  });

  it.each([['--path.rootfs=host'], ['--path.docker.containers=containers']])('%s: a relative directory is one clear line', (arg) => {
    expect(() => ownerPathsOf([arg])).toThrow(/^--path\.[a-z.]+: expected an absolute directory, got "[a-z]+"$/);
  });

  it.each(['--collector.cgroup.runtime-root=/host', '--collector.netns.containerd-state=/x', '--collector.netns.crio-state=/x', '--collector.netns.docker-state=/x'])('the old per-collector flag %s is gone', (arg) => {
    expect(() => parseCommandLine([arg], COLLECTORS, quiet)).toThrow(/unknown option/);
  });
});
