import type { ProcRoot } from './proc-root.js';
import { parsePageSize } from './sysctl.js';

const DEFAULT_PAGE_SIZE = 4096;
const cache = new WeakMap<ProcRoot, Promise<number>>();

/**
 * The kernel page size, the unit of sockstat's `mem` and of `tcp_mem`. Read once per root from
 * <procfs>/self/smaps; falls back to 4096 when that is not readable (it is the page size of
 * x86_64 and of most arm64 distributions).
 */
export function pageSize(proc: ProcRoot): Promise<number> {
  let cached = cache.get(proc);
  if (cached === undefined) {
    cached = (async () => {
      const text = await proc.readTextIfExists('self', 'smaps').catch(() => undefined);
      if (text === undefined) return DEFAULT_PAGE_SIZE;
      try {
        return parsePageSize(proc.path('self', 'smaps'), text.slice(0, 64 * 1024));
      } catch {
        return DEFAULT_PAGE_SIZE;
      }
    })();
    cache.set(proc, cached);
  }
  return cached;
}
