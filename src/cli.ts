import { Command, CommanderError, Help, Option } from 'commander';
import { allFlags, COLLECTION_FLAGS, commandLineFlags, type CollectorFlags, type CommandLineFlags } from './config/config.js';
import type { Flag } from './config/flag.js';
import { withDiagnoseDefaults } from './diagnose/collector-defaults.js';
import { DIAGNOSE_FLAGS } from './diagnose/flags.js';
import { versionText } from './version.js';

export type Subcommand = 'serve' | 'collect' | 'diagnose';

export interface ParsedCommandLine {
  command: Subcommand;
  flags: CommandLineFlags;
}

/** A command line that cannot be used; main prints the message and exits 2, as kingpin does. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** --help or --version was printed; main exits 0. */
export class InfoPrinted extends Error {
  override readonly name = 'InfoPrinted';
}

/** Help that fits an 80-column terminal, as node_exporter's does. */
const HELP_WIDTH = 80;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function optionFor(flag: Flag<unknown>): Option {
  const help = flag.defaultText === undefined ? flag.help : `${flag.help} (default: ${flag.defaultText})`;
  if (flag.kind === 'switch') return new Option(`--${flag.name}`, help);
  const option = new Option(`--${flag.name} ${flag.valueName}`, help);
  return flag.kind === 'repeatable' ? option.argParser(collect) : option;
}

interface Declared {
  flags: Array<{ flag: Flag<unknown>; option: Option }>;
  toggles: Array<{ collector: string; option: Option }>;
}

/**
 * node_exporter's flag names, so people and config management reuse what they know. The options
 * come from the flag tables alone (config.ts), so nothing is declared twice.
 */
function declare(command: Command, collectors: readonly CollectorFlags[], extra: readonly Flag<unknown>[]): Declared {
  const declared: Declared = { flags: [], toggles: [] };
  const add = (flag: Flag<unknown>): void => {
    const option = optionFor(flag);
    command.addOption(option);
    declared.flags.push({ flag, option });
  };
  const flags = allFlags(collectors).filter((flag) => !Object.values(DIAGNOSE_FLAGS).includes(flag as never));
  // The collector switches come right after --collector.disable-defaults, before per-collector flags.
  for (const flag of flags.filter((flag) => !flag.name.startsWith('collector.'))) add(flag);
  add(COLLECTION_FLAGS.disableDefaults);
  for (const collector of collectors) {
    const option = new Option(`--collector.${collector.name}`, `enable the ${collector.name} collector: ${collector.description} (default: ${collector.defaultEnabled ? 'enabled' : 'disabled'})`);
    command.addOption(option);
    command.addOption(new Option(`--no-collector.${collector.name}`).hideHelp());
    declared.toggles.push({ collector: collector.name, option });
  }
  for (const flag of flags.filter((flag) => flag.name.startsWith('collector.') && flag !== COLLECTION_FLAGS.disableDefaults)) add(flag);
  for (const flag of extra) add(flag);
  return declared;
}

/** Reads every declared option back by its own attribute name: no renaming, no cast. */
function readBack(options: Record<string, unknown>, declared: Declared): CommandLineFlags {
  const values: Record<string, string | string[] | boolean> = {};
  for (const { flag, option } of declared.flags) {
    const value = options[option.attributeName()];
    if (typeof value === 'string' || typeof value === 'boolean' || Array.isArray(value)) values[flag.name] = value as string | string[] | boolean;
  }
  const toggles: Record<string, boolean | undefined> = {};
  for (const { collector, option } of declared.toggles) {
    const value = options[option.attributeName()];
    if (typeof value === 'boolean') toggles[collector] = value;
  }
  return commandLineFlags(values, toggles);
}

/** Shows a collector switch as node_exporter does: --[no-]collector.sockets. */
function optionTerm(this: Help, option: Option): string {
  if (option.isBoolean() && !option.negate && /^--collector\.[a-z0-9_]+$/.test(option.long ?? '') && option.long !== '--collector.disable-defaults') {
    return option.long!.replace('--collector.', '--[no-]collector.');
  }
  return Help.prototype.optionTerm.call(this, option);
}

const DESCRIPTION_INDENT = 6;

/**
 * Each flag on a line of its own and its description below it, wrapped, as kingpin prints
 * node_exporter's: flag names here are up to 50 characters long, which would leave no room
 * beside them in 80 columns.
 */
function formatItem(this: Help, term: string, _termWidth: number, description: string, helper: Help): string {
  if (description === '') return `  ${term}`;
  const wrapped = helper.boxWrap(description, HELP_WIDTH - DESCRIPTION_INDENT);
  return `  ${term}
${wrapped.replace(/^/gm, ' '.repeat(DESCRIPTION_INDENT))}`;
}

/**
 * Parses argv (without node and the script). Throws UsageError for a bad command line and
 * InfoPrinted after --help/--version; never exits the process itself.
 */
export function parseCommandLine(argv: readonly string[], collectors: readonly CollectorFlags[], write: (text: string) => void = (text) => process.stdout.write(text)): ParsedCommandLine {
  let result: ParsedCommandLine | undefined;
  const configure = (command: Command): Command => command.allowExcessArguments(false).exitOverride().configureHelp({ helpWidth: HELP_WIDTH, optionTerm, formatItem });
  const program = new Command('tcpstate-exporter')
    .description('Prometheus exporter for the Linux TCP socket table: states, queues, keepalive, tunables and kernel counters.')
    .version(versionText(), '--version', 'print the version, build and platform, and exit')
    .helpOption('-h, --help', 'show this help and exit')
    // Flags after a subcommand belong to it: `collect --path.procfs=x`.
    .enablePositionalOptions()
    .configureOutput({ writeOut: write, writeErr: () => undefined });
  configure(program);
  const serve = declare(program, collectors, []);
  program.action((options: Record<string, unknown>) => {
    result = { command: 'serve', flags: readBack(options, serve) };
  });
  const collectCommand = program.command('collect').description('print one scrape in the Prometheus text format to stdout and exit');
  configure(collectCommand);
  const collected = declare(collectCommand, collectors, []);
  collectCommand.action((options: Record<string, unknown>) => {
    result = { command: 'collect', flags: readBack(options, collected) };
  });
  const diagnoseCommand = program
    .command('diagnose')
    .description('look at this host once and print what is wrong, the evidence and what to change; exit 0 healthy, 3 warnings, 4 critical');
  configure(diagnoseCommand);
  const diagnosed = declare(diagnoseCommand, withDiagnoseDefaults(collectors), Object.values(DIAGNOSE_FLAGS));
  diagnoseCommand.action((options: Record<string, unknown>) => {
    result = { command: 'diagnose', flags: readBack(options, diagnosed) };
  });

  try {
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') throw new InfoPrinted(error.message);
      throw new UsageError(error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
    }
    throw error;
  }
  if (result === undefined) throw new UsageError('no command');
  return result;
}
