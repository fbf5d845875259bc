/**
 * Every flag is declared once, in its owner's table; cli.ts and config.ts are built from the
 * tables. This walks every declared flag through the real command-line parser and the real
 * Config, so a flag that cli.ts drops, or that lands under another name, fails here.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine, type Subcommand } from '../../src/cli.js';
import { COLLECTORS } from '../../src/collectors/index.js';
import { GLOBAL_FLAG_TABLES, parseConfig, type Config } from '../../src/config/config.js';
import type { Flag } from '../../src/config/flag.js';
import { withDiagnoseDefaults } from '../../src/diagnose/collector-defaults.js';

const quiet = (): void => undefined;

function configFrom(command: Subcommand, args: readonly string[]): Config {
  const argv = command === 'serve' ? args : [command, ...args];
  const parsed = parseCommandLine(argv, COLLECTORS, quiet);
  expect(parsed.command).toBe(command);
  return parseConfig(parsed.flags, command === 'diagnose' ? withDiagnoseDefaults(COLLECTORS) : COLLECTORS);
}

function argument(flag: Flag<unknown>): string {
  return flag.kind === 'switch' ? `--${flag.name}` : `--${flag.name}=${flag.example}`;
}

function exampleValue(flag: Flag<unknown>): unknown {
  return flag.parse(flag.kind === 'switch' ? true : flag.kind === 'repeatable' ? [flag.example] : flag.example);
}

const globalFlags = Object.entries(GLOBAL_FLAG_TABLES).flatMap(([group, table]) => Object.entries(table).map(([key, flag]) => ({ group, key, flag })));
const collectorFlags = COLLECTORS.flatMap((collector) => Object.entries(collector.flags).map(([key, flag]) => ({ collector: collector.name, key, flag: flag as Flag<unknown> })));

describe('the flag tables reach Config through the command line', () => {
  it('there are flags to walk, and each one\'s example is not its default', () => {
    expect(globalFlags.length).toBeGreaterThan(8);
    expect(collectorFlags.length).toBeGreaterThan(5);
    for (const { flag } of [...globalFlags, ...collectorFlags]) {
      expect(exampleValue(flag), `--${flag.name} example`).not.toEqual(flag.parse(undefined));
    }
  });

  it.each(globalFlags.map((entry) => [entry.flag.name, entry] as const))('--%s', (_name, { group, key, flag }) => {
    const commands: Subcommand[] = group === 'diagnose' ? ['diagnose'] : ['serve', 'collect', 'diagnose'];
    for (const command of commands) {
      const config = configFrom(command, [argument(flag)]) as unknown as Record<string, Record<string, unknown>>;
      expect(config[group]![key], `${command} --${flag.name}`).toEqual(exampleValue(flag));
    }
  });

  it.each(collectorFlags.map((entry) => [entry.flag.name, entry] as const))('--%s', (_name, { collector, key, flag }) => {
    for (const command of ['serve', 'collect', 'diagnose'] as const) {
      const config = configFrom(command, [argument(flag)]);
      expect(config.collectors.get(collector)?.[key], `${command} --${flag.name}`).toEqual(exampleValue(flag));
    }
  });

  it.each(COLLECTORS.map((collector) => [collector.name]))('--[no-]collector.%s switches the collector', (name) => {
    expect(configFrom('serve', [`--collector.${name}`]).enabledCollectors).toContain(name);
    expect(configFrom('serve', [`--no-collector.${name}`]).enabledCollectors).not.toContain(name);
    expect(configFrom('serve', ['--collector.disable-defaults', `--collector.${name}`]).enabledCollectors).toEqual([name]);
  });

  it('a flag the tables do not declare is refused by the command line', () => {
    expect(() => parseCommandLine(['--collector.sockets.max-port=3'], COLLECTORS, quiet)).toThrow(/unknown option/);
  });

  it('parseConfig refuses a flag name no table declares, instead of falling back to a default', () => {
    expect(() => parseConfig({ values: { 'collector.sockets.maxports': '3' }, collectorToggles: {} }, COLLECTORS)).toThrow('unknown flag --collector.sockets.maxports');
  });
});
