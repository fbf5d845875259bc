import { ProcParseError } from '../errors.js';
import { safeInteger } from './safe-integer.js';

/**
 * Parses the text of a numeric sysctl file: one or more integers separated by whitespace
 * (`ip_local_port_range` is "32768\t60999\n", `tcp_mem` has three values).
 */
export function parseSysctl(file: string, name: string, text: string): number[] {
  const tokens = text.trim().split(/\s+/).filter((token) => token !== '');
  if (tokens.length === 0) throw new ProcParseError(file, 1, name, 'empty value');
  return tokens.map((token) => {
    if (!/^-?\d+$/.test(token)) throw new ProcParseError(file, 1, name, `not a number: ${JSON.stringify(token)}`);
    return safeInteger(file, 1, name, token);
  });
}

/** Parses ip_local_port_range into [first, last], checking that it is a real range. */
export function parsePortRange(file: string, text: string): [number, number] {
  const values = parseSysctl(file, 'net.ipv4.ip_local_port_range', text);
  const [first, last] = values;
  if (values.length !== 2 || first === undefined || last === undefined || first < 0 || last > 65535 || first > last) {
    throw new ProcParseError(file, 1, 'net.ipv4.ip_local_port_range', `expected "<first> <last>", got ${JSON.stringify(text.trim())}`);
  }
  return [first, last];
}

/**
 * Parses the page size out of /proc/self/smaps ("KernelPageSize:        4 kB"): the unit of
 * sockstat's `mem` and of `tcp_mem`.
 */
export function parsePageSize(file: string, text: string): number {
  const match = /^KernelPageSize:\s+(\d+) kB$/m.exec(text);
  if (!match) throw new ProcParseError(file, 1, 'KernelPageSize', 'no "KernelPageSize: <n> kB" line');
  return safeInteger(file, 1, 'KernelPageSize', match[1]!) * 1024;
}
