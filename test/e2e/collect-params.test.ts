import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, select } from '../helpers/exposition.js';
import { fixtureProcfs, startExporter, type RunningExporter } from '../helpers/exporter-process.js';

describe('/metrics?collect[]=… and ?exclude[]=…, as node_exporter takes them', () => {
  let exporter: RunningExporter;
  beforeAll(async () => {
    exporter = await startExporter([`--path.procfs=${fixtureProcfs}`]);
  });
  afterAll(async () => {
    await exporter?.stop();
  });

  const collectorsIn = async (query: string): Promise<string[]> => {
    const response = await fetch(`${exporter.url}/metrics${query}`);
    expect(response.status).toBe(200);
    return select(parseExposition(await response.text()), 'tcpstate_scrape_collector_success').map((sample) => sample.labels.collector!).sort();
  };

  it('collect[] runs only the collectors named', async () => {
    expect(await collectorsIn('?collect[]=netstat&collect[]=sysctl')).toEqual(['netstat', 'sysctl']);
    const body = await (await fetch(`${exporter.url}/metrics?collect[]=netstat`)).text();
    expect(body).toMatch(/^tcpstate_listen_overflows_total /m);
    expect(body).not.toMatch(/^tcpstate_sockets\{/m);
  });

  it('exclude[] runs all but those', async () => {
    expect(await collectorsIn('?exclude[]=sysctl')).toEqual(['cgroup', 'netns', 'netstat', 'sockets', 'sockstat']);
  });

  it('a collector that is not enabled, or both parameters at once, is a 400 saying why', async () => {
    const unknown = await fetch(`${exporter.url}/metrics?collect[]=process`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toBe('collector "process" is not enabled; enabled: sockets, sockstat, netstat, sysctl, cgroup, netns\n');
    expect((await fetch(`${exporter.url}/metrics?collect[]=sockets&exclude[]=sysctl`)).status).toBe(400);
  });
});
