import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config.js';
import { oneLine } from '../errors.js';
import { loadTlsMaterial, type TlsMaterial } from './tls.js';
import { parseWebConfig, type WebConfigSpec } from './web-config.js';

export interface LoadedWebConfig {
  spec: WebConfigSpec;
  tls: TlsMaterial | undefined;
}

/** Reads the web config and the TLS material it names; every problem is one ConfigError line naming the file. */
export function loadWebConfig(file: string): LoadedWebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--web.config.file: ${oneLine(error)}`);
  }
  const spec = parseWebConfig(file, text);
  return { spec, tls: spec.tls === undefined ? undefined : loadTlsMaterial(file, spec.tls) };
}
