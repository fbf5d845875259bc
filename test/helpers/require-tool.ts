import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Whether an external command is usable; `path` when it is, `skipReason` when it is not. */
export interface ToolCheck {
  readonly available: boolean;
  readonly path?: string;
  readonly skipReason?: string;
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Looks `name` up on PATH (no shell). Missing: throws under CI=true (install `debianPackage`), otherwise
 * warns and returns a skipReason. Use: `const t = toolOrSkip('promtool', 'prometheus'); it.skipIf(!t.available)(...)`.
 */
export function toolOrSkip(name: string, debianPackage: string, env: NodeJS.ProcessEnv = process.env): ToolCheck {
  const candidates = isAbsolute(name)
    ? [name]
    : (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, name));
  const found = candidates.find(isExecutableFile);
  if (found !== undefined) return { available: true, path: found };

  if (env.CI === 'true') {
    throw new Error(`${name} is required when CI=true but was not found on PATH: install the Debian package "${debianPackage}" (apt-get install -y ${debianPackage})`);
  }
  const skipReason = `${name} not found on PATH; skipping the tests that need it. Install it with: apt-get install -y ${debianPackage}`;
  console.warn(skipReason);
  return { available: false, skipReason };
}
