/** Which watched ports get a label of their own, under a cardinality cap. */
export interface PortSelection {
  /** Ports that keep their own `port` label, ascending. */
  kept: number[];
  /** Ports summed into port="other". */
  folded: number[];
}

/**
 * Keeps the `maxPorts` busiest ports (by socket count, ties by lower port number), so the same
 * table always gives the same labels and a flood of listeners cannot explode the series count.
 */
export function selectPorts(candidates: Iterable<number>, socketCount: (port: number) => number, maxPorts: number): PortSelection {
  const ranked = [...new Set(candidates)]
    .map((port) => ({ port, count: socketCount(port) }))
    .sort((a, b) => b.count - a.count || a.port - b.port);
  return {
    kept: ranked.slice(0, maxPorts).map((entry) => entry.port).sort((a, b) => a - b),
    folded: ranked.slice(maxPorts).map((entry) => entry.port),
  };
}
