import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** A gauge that lives only in this scrape's registry. */
export function scrapeGauge<L extends string = never>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

/**
 * A counter that reports a value the kernel keeps. It is created fresh each scrape, so
 * incrementing it from zero by the kernel's value exposes exactly that value.
 */
export function kernelCounter<L extends string = never>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}
