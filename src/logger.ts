import { pino, type Logger } from 'pino';
import { choiceFlag } from './config/flag.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_FLAGS = {
  level: choiceFlag('log.level', { help: 'only log messages with the given severity or above', choices: LOG_LEVELS, default: 'info', example: 'debug' }),
  format: choiceFlag('log.format', { help: 'output format of log messages', choices: LOG_FORMATS, default: 'logfmt', example: 'json' }),
};

/** pino's numeric levels, named as --log.level and logfmt spell them. */
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** Turns one pino JSON line into logfmt, the default format of node_exporter's logs. */
export function jsonLineToLogfmt(line: string): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  const { time, level, msg, ...rest } = record;
  const parts = [`time=${new Date(Number(time)).toISOString()}`, `level=${LEVEL_NAMES[Number(level)] ?? String(level)}`];
  if (msg !== undefined) parts.push(`msg=${logfmtValue(msg)}`);
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) parts.push(`${key}=${logfmtValue(value)}`);
  return `${parts.join(' ')}\n`;
}

/** Structured logs on stderr, so stdout stays free for `collect` output. */
export function createLogger(level: LogLevel, format: LogFormat, destination: NodeJS.WritableStream = process.stderr): Logger {
  const options = { level, base: undefined };
  if (format === 'json') return pino(options, pino.destination({ fd: 2, sync: true }));
  return pino(options, { write: (line: string) => destination.write(jsonLineToLogfmt(line)) });
}
