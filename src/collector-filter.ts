import { UserFacingError } from './errors.js';

/** A `collect[]` / `exclude[]` request that cannot be served; the server answers 400 with the message. */
export class CollectorFilterError extends UserFacingError {
  override readonly name = 'CollectorFilterError';
}

const asList = (value: unknown): string[] => (value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);

/**
 * The collectors one request asks for, as node_exporter's `collect[]` and `exclude[]` URL
 * parameters choose them among the enabled collectors: `collect[]=sockets&collect[]=netstat`
 * runs only those, `exclude[]=sysctl` all but that; neither, all. Pure.
 */
export function selectCollectors(enabled: readonly string[], collect: unknown, exclude: unknown): readonly string[] {
  const wanted = asList(collect);
  const unwanted = asList(exclude);
  if (wanted.length > 0 && unwanted.length > 0) throw new CollectorFilterError('collect[] and exclude[] cannot be used together');
  for (const name of [...wanted, ...unwanted]) {
    if (!enabled.includes(name)) throw new CollectorFilterError(`collector ${JSON.stringify(name)} is not enabled; enabled: ${enabled.join(', ')}`);
  }
  if (wanted.length > 0) return enabled.filter((name) => wanted.includes(name));
  return enabled.filter((name) => !unwanted.includes(name));
}
