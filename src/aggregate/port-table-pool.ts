/** Entries of a per-port table: one counter per (port, state slot). */
export const PORT_TABLE_LENGTH = 65536 * 12;

/**
 * Reuses the 3 MB per-port tables across scrapes. Allocating a fresh one every scrape made V8's
 * heap (and the process RSS) creep up by tens of MB over a hundred scrapes before it settled; a
 * table handed back is zeroed and handed out again. More than one table is out only while
 * scrapes overlap (two exposition formats at once, or the remote-port table).
 */
export class PortTablePool {
  private readonly free: Uint32Array[] = [];

  acquire(): Uint32Array {
    const table = this.free.pop();
    if (table === undefined) return new Uint32Array(PORT_TABLE_LENGTH);
    table.fill(0);
    return table;
  }

  release(table: Uint32Array): void {
    // Two spare tables cover every overlap we have; keep no more than that around.
    if (this.free.length < 2) this.free.push(table);
  }
}
