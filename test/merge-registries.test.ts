import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { mergeRegistries } from '../src/merge-registries.js';

describe('mergeRegistries', () => {
  it("makes one family of a name two registries hold, the first one's HELP, every series, in text and OpenMetrics", async () => {
    const host = new Registry();
    new Counter({ name: 'x_total', help: 'host help', registers: [host] }).inc(3);
    const pods = new Registry();
    new Counter({ name: 'x_total', help: 'pod help', labelNames: ['pod'], registers: [pods] }).inc({ pod: 'web-0' }, 5);
    const other = new Registry();
    new Gauge({ name: 'y', help: 'y', registers: [other] }).set(1);
    const text = await mergeRegistries([host, pods, other]).metrics();
    expect(text).toBe('# HELP x_total host help\n# TYPE x_total counter\nx_total 3\nx_total{pod="web-0"} 5\n\n# HELP y y\n# TYPE y gauge\ny 1\n');
    const open = mergeRegistries([host, pods]);
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    expect(await open.metrics()).toContain('x_total{pod="web-0"} 5');
  });

  it('refuses one name with two types', () => {
    const a = new Registry();
    new Counter({ name: 'z', help: 'z', registers: [a] });
    const b = new Registry();
    new Gauge({ name: 'z', help: 'z', registers: [b] });
    expect(() => mergeRegistries([a, b])).toThrow('metric z is registered as both counter and gauge');
  });

  it('lets the event loop run while a large collection renders, and renders it the same as prom-client does', async () => {
    // 400 families of 50 series: 20,000 lines, tens of milliseconds of formatting.
    const registry = new Registry();
    for (let f = 0; f < 400; f++) {
      const gauge = new Gauge({ name: `family_${f}`, help: `family ${f}`, labelNames: ['netns', 'port'], registers: [registry] });
      for (let i = 0; i < 50; i++) gauge.set({ netns: String(4026531000 + i), port: String(8000 + f) }, i);
    }
    let turns = 0;
    let counting = true;
    const count = (): void => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const started = performance.now();
    const text = await mergeRegistries([registry]).metrics();
    const took = performance.now() - started;
    counting = false;
    expect(text).toBe(await registry.metrics());
    // Without pacing the render is one run of microtasks: no turn of the loop until it ends.
    expect(turns, `${turns} turns of the event loop in a ${took.toFixed(0)} ms render`).toBeGreaterThanOrEqual(Math.min(3, Math.floor(took / 10)));
    expect(turns).toBeGreaterThan(0);
  });
});
