/**
 * Command-line flags as data. Every flag is declared once, beside the code it configures (a
 * collector, the web server, the logger), as a `Flag`: its name, help, default and parser. The
 * command line (cli.ts) and the validated Config (config.ts) are both built from those tables, so
 * the help shows the real defaults and a flag cannot be parsed in one place and dropped in another.
 */
import { z } from 'zod';
import { UserFacingError } from '../errors.js';

/** A flag value that cannot be used; main prints the one-line message and exits with 2. */
export class ConfigError extends UserFacingError {
  override readonly name = 'ConfigError';
}

/** A value as the command line delivers it: a string, repeated strings, a switch, or nothing. */
export type RawFlagValue = string | string[] | boolean | undefined;

export interface Flag<T> {
  /** Without the leading dashes: `collector.sockets.max-ports`. */
  readonly name: string;
  readonly help: string;
  /** `value`: takes one value; `repeatable`: may be given several times; `switch`: no value. */
  readonly kind: 'value' | 'repeatable' | 'switch';
  /** What the value is, for --help: `<n>`, `<ports>`. */
  readonly valueName: string;
  /** The default as --help shows it; undefined when there is none to show. */
  readonly defaultText: string | undefined;
  /** A valid value other than the default: documentation, and what the flag-table test feeds in. */
  readonly example: string;
  /** Turns what the command line gave (undefined: not given) into the value; throws ConfigError. */
  parse(raw: RawFlagValue): T;
}

/** Flags of one owner, by the key under which their values are read. */
export type FlagTable = { readonly [key: string]: Flag<unknown> };
export type FlagValues<T extends FlagTable> = { readonly [K in keyof T]: T[K] extends Flag<infer V> ? V : never };

const fail = (flag: string, message: string): never => {
  throw new ConfigError(`--${flag}: ${message}`);
};

function single(name: string, raw: RawFlagValue): string | undefined {
  if (raw === undefined || typeof raw === 'string') return raw;
  if (Array.isArray(raw)) return raw.at(-1);
  return fail(name, 'expects a value');
}

function many(raw: RawFlagValue): string[] {
  if (raw === undefined || typeof raw === 'boolean') return [];
  return typeof raw === 'string' ? [raw] : raw;
}

export function integerFlag(name: string, options: { help: string; default: number; min: number; max?: number; example: string }): Flag<number> {
  const schema = z.coerce.number().int().min(options.min).max(options.max ?? Number.MAX_SAFE_INTEGER);
  const range = options.max === undefined ? `>= ${options.min}` : `from ${options.min} to ${options.max}`;
  return {
    name,
    help: options.help,
    kind: 'value',
    valueName: '<n>',
    defaultText: String(options.default),
    example: options.example,
    parse(raw) {
      const value = single(name, raw);
      if (value === undefined) return options.default;
      const parsed = schema.safeParse(value.trim() === '' ? NaN : value);
      return parsed.success ? parsed.data : fail(name, `expected an integer ${range}, got ${JSON.stringify(value)}`);
    },
  };
}

export function numberFlag(name: string, options: { help: string; default: number; min: number; max: number; unit: string; example: string; hint?: string }): Flag<number> {
  const schema = z.coerce.number().min(options.min).max(options.max);
  return {
    name,
    help: options.help,
    kind: 'value',
    valueName: `<${options.unit}>`,
    defaultText: String(options.default),
    example: options.example,
    parse(raw) {
      const value = single(name, raw);
      if (value === undefined) return options.default;
      const parsed = schema.safeParse(value.trim() === '' ? NaN : value);
      const hint = options.hint === undefined ? '' : ` (${options.hint})`;
      return parsed.success ? parsed.data : fail(name, `expected ${options.unit} from ${options.min} to ${options.max}${hint}, got ${JSON.stringify(value)}`);
    },
  };
}

export function choiceFlag<const C extends string>(name: string, options: { help: string; choices: readonly C[]; default: C; example: C }): Flag<C> {
  return {
    name,
    help: options.help,
    kind: 'value',
    valueName: `<${options.choices.join('|')}>`,
    defaultText: options.default,
    example: options.example,
    parse(raw) {
      const value = single(name, raw);
      if (value === undefined) return options.default;
      return (options.choices as readonly string[]).includes(value) ? (value as C) : fail(name, `expected one of ${options.choices.join(', ')}, got ${JSON.stringify(value)}`);
    },
  };
}

/** A free-form string, checked by `check` (which returns why it is wrong, or undefined). */
export function stringFlag<T = string>(
  name: string,
  options: { help: string; default: T; defaultText?: string; valueName: string; example: string; convert?: (value: string) => T; check?: (value: string) => string | undefined },
): Flag<T> {
  return {
    name,
    help: options.help,
    kind: 'value',
    valueName: options.valueName,
    defaultText: options.defaultText,
    example: options.example,
    parse(raw) {
      const value = single(name, raw);
      if (value === undefined) return options.default;
      const problem = options.check?.(value);
      if (problem !== undefined) fail(name, problem);
      return options.convert ? options.convert(value) : (value as T);
    },
  };
}

/** Repeatable, each value possibly a comma-separated list: --x=80,443 --x 8080. Sorted, distinct. */
export function portListFlag(name: string, options: { help: string; example: string }): Flag<number[]> {
  const port = z.coerce.number().int().min(1).max(65535);
  return {
    name,
    help: `${options.help}; repeatable, comma-separated`,
    kind: 'repeatable',
    valueName: '<ports>',
    defaultText: undefined,
    example: options.example,
    parse(raw) {
      const ports = new Set<number>();
      for (const value of many(raw)) {
        for (const item of value.split(',')) {
          const parsed = port.safeParse(item.trim() === '' ? NaN : item.trim());
          if (!parsed.success) fail(name, `expected port numbers 1-65535, got ${JSON.stringify(item)}`);
          else ports.add(parsed.data);
        }
      }
      return [...ports].sort((a, b) => a - b);
    },
  };
}

/** Repeatable strings, each checked; distinct, in the order given. */
export function stringListFlag(name: string, options: { help: string; valueName: string; example: string; check: (value: string) => string | undefined }): Flag<string[]> {
  return {
    name,
    help: `${options.help}; repeatable`,
    kind: 'repeatable',
    valueName: options.valueName,
    defaultText: undefined,
    example: options.example,
    parse(raw) {
      const values = many(raw);
      for (const value of values) {
        const problem = options.check(value);
        if (problem !== undefined) fail(name, problem);
      }
      return [...new Set(values)];
    },
  };
}

export function switchFlag(name: string, options: { help: string }): Flag<boolean> {
  return {
    name,
    help: options.help,
    kind: 'switch',
    valueName: '',
    defaultText: undefined,
    example: 'true',
    parse: (raw) => raw === true || raw === 'true',
  };
}

/** Parses every flag of a table from the raw values, keyed by flag name. */
export function parseFlagTable<T extends FlagTable>(table: T, raw: ReadonlyMap<string, RawFlagValue>): FlagValues<T> {
  const values: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(table)) values[key] = flag.parse(raw.get(flag.name));
  // Built key by key from the same table, so it has exactly the table's shape.
  return values as FlagValues<T>;
}
