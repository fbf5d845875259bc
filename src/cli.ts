import { Command, CommanderError, Option } from 'commander';
import type { CollectorDefault, RawFlags } from './config.js';
import { DEFAULT_LISTEN_ADDRESS } from './config.js';
import { withDiagnoseDefaults } from './diagnose/collector-defaults.js';
import { VERSION } from './version.js';
import { WEB_LIMIT_FLAGS } from './web/flags.js';

export type Subcommand = 'serve' | 'collect' | 'diagnose';

export interface ParsedCommandLine {
  command: Subcommand;
  flags: RawFlags;
}

/** A command line that cannot be used; main prints the message and exits 2, as kingpin does. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** --help or --version was printed; main exits 0. */
export class InfoPrinted extends Error {
  override readonly name = 'InfoPrinted';
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** node_exporter's flag names, so people and config management reuse what they know. */
function addFlags(command: Command, collectors: readonly (CollectorDefault & { description: string })[]): Command {
  command
    .option('--web.listen-address <address>', `address to listen on for the web interface and telemetry (default "${DEFAULT_LISTEN_ADDRESS}")`)
    .option('--web.telemetry-path <path>', 'path under which to expose metrics (default "/metrics")')
    .option('--web.max-requests <n>', 'maximum number of parallel scrape requests; 0 disables the limit (default 40)')
    .option('--web.config.file <file>', 'exporter-toolkit web config file (TLS, basic auth); re-read on change and on SIGHUP')
    .option('--path.procfs <path>', 'procfs mountpoint; point it at the host\'s /proc from a container (default "/proc")')
    .option('--collector.disable-defaults', 'disable every collector that is not enabled by its own flag');
  for (const flag of WEB_LIMIT_FLAGS) command.option(`--${flag.name} <value>`, flag.help);
  for (const collector of collectors) {
    command.addOption(new Option(`--collector.${collector.name}`, `enable the ${collector.name} collector: ${collector.description} (default: ${collector.defaultEnabled ? 'enabled' : 'disabled'})`));
    command.addOption(new Option(`--no-collector.${collector.name}`, `disable the ${collector.name} collector`).hideHelp());
  }
  command
    .option('--collector.sockets.source <source>', 'where socket states come from: auto, netlink or procfs (default "auto")')
    .option('--collector.sockets.ports <ports>', 'local ports to watch in tcpstate_port_sockets besides listening ports; repeatable, comma-separated', collect)
    .option('--collector.sockets.max-ports <n>', 'most ports given their own label; the rest are summed into port="other" (default 64)')
    .option('--collector.sockets.remote-ports <ports>', 'remote ports to count in tcpstate_remote_port_sockets (client-side pools); repeatable, comma-separated', collect)
    .option('--collector.netstat.fields <regex>', 'regex of extra "Group_Field" counters from /proc/net/{snmp,netstat} to expose as tcpstate_netstat_total')
    .option('--collector.sysctl.include <name>', 'extra sysctl to expose, dotted (net.ipv4.tcp_rmem); repeatable', collect)
    .option('--collector.process.top <n>', 'processes given their own label; the rest are summed into process="other" (default 20)')
    .option('--log.level <level>', 'only log messages with the given severity or above: debug, info, warn, error (default "info")')
    .option('--log.format <format>', 'output format of log messages: logfmt or json (default "logfmt")');
  return command;
}

function toRawFlags(options: Record<string, unknown>, collectors: readonly CollectorDefault[]): RawFlags {
  const flags: Record<string, unknown> = {};
  const toggles: Record<string, boolean | undefined> = {};
  const collectorNames = new Set(collectors.map((collector) => collector.name));
  for (const [key, value] of Object.entries(options)) {
    const toggle = /^collector\.([a-z0-9_]+)$/.exec(key);
    if (toggle && collectorNames.has(toggle[1]!)) toggles[toggle[1]!] = value as boolean;
    // commander camel-cases after a dash (listenAddress); flags are spelled with the dash.
    else flags[key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] = value;
  }
  return { ...(flags as RawFlags), collectorToggles: toggles };
}

/**
 * Parses argv (without node and the script). Throws UsageError for a bad command line and
 * InfoPrinted after --help/--version; never exits the process itself.
 */
export function parseCommandLine(argv: readonly string[], collectors: readonly (CollectorDefault & { description: string })[], write: (text: string) => void = (text) => process.stdout.write(text)): ParsedCommandLine {
  let result: ParsedCommandLine | undefined;
  const program = new Command('tcpstate-exporter')
    .description('Prometheus exporter for the Linux TCP socket table: states, queues, keepalive, tunables and kernel counters.')
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    // Flags after a subcommand belong to it: `collect --path.procfs=x`.
    .enablePositionalOptions()
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: write, writeErr: () => undefined });
  addFlags(program, collectors).action((options: Record<string, unknown>) => {
    result = { command: 'serve', flags: toRawFlags(options, collectors) };
  });
  addFlags(program.command('collect').description('print one scrape in the Prometheus text format to stdout and exit').allowExcessArguments(false).exitOverride(), collectors).action(
    (options: Record<string, unknown>) => {
      result = { command: 'collect', flags: toRawFlags(options, collectors) };
    },
  );
  const diagnose = program
    .command('diagnose')
    .description('look at this host once and print what is wrong, the evidence and what to change; exit 0 healthy, 3 warnings, 4 critical')
    .allowExcessArguments(false)
    .exitOverride();
  addFlags(diagnose, withDiagnoseDefaults(collectors))
    .option('--diagnose.interval <seconds>', 'seconds between the two snapshots that turn counters into rates; 0 takes one snapshot, without rates (default 5)')
    .option('--diagnose.format <format>', 'report format: text or json (default "text")')
    .action((options: Record<string, unknown>) => {
      result = { command: 'diagnose', flags: toRawFlags(options, collectors) };
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
