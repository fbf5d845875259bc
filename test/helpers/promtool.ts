import { spawnSync } from 'node:child_process';

/**
 * The promtool path, or undefined when it is missing outside CI (the test then returns early
 * with a message). Under CI=true a missing promtool throws, so the suite fails instead of passing
 * without checking.
 */
export function promtoolOrSkip(): string | undefined {
  if (spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0) return 'promtool';
  const message = 'promtool is missing: apt-get install -y prometheus';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${message}`);
  console.warn(`skipping promtool check: ${message}`);
  return undefined;
}
