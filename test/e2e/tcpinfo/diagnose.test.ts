/**
 * `diagnose` names the worst upstream from the tcpinfo series: in a namespace the test makes,
 * random drops on one upstream port's traffic and none on another's, the real CLI's JSON report.
 */
import { expect, it } from 'vitest';
import { dropPortPackets } from '../../helpers/impairment.js';
import { describeWithNetns, exporterBin, TestNamespace } from '../../helpers/netns.js';
import { impairmentNamespacePerTest } from '../../helpers/paced-traffic.js';

interface Report {
  source: string;
  collectors: Array<{ name: string; ok: boolean }>;
  findings: Array<{ check: string; severity: string; headline: string; evidence: string[]; labels: Record<string, string> }>;
}

async function diagnose(ns: TestNamespace, flags: readonly string[]): Promise<Report> {
  try {
    const { stdout } = await ns.exec(process.execPath, [exporterBin, 'diagnose', '--diagnose.format=json', '--log.level=error', ...flags], 60_000);
    return JSON.parse(stdout) as Report;
  } catch (error) {
    // Exit 3 (a warning) is the expected outcome here; the report is on stdout all the same.
    const failed = error as { code?: unknown; stdout?: string };
    if (failed.code !== 3 || failed.stdout === undefined) throw error;
    return JSON.parse(failed.stdout) as Report;
  }
}

describeWithNetns('diagnose: the worst upstream', () => {
  const lab = impairmentNamespacePerTest();

  it('names the upstream port whose traffic is dropped, with a warning, and not the clean one', { timeout: 120_000 }, async () => {
    const { ns } = lab;
    await dropPortPackets(ns, 7004, 0.1);
    await lab.startTraffic([{ port: 7003, connections: 8 }, { port: 7004, connections: 8 }], 60);
    const report = await diagnose(ns, ['--diagnose.interval=3', '--collector.sockets.remote-ports=7003,7004', '--no-collector.process']);
    expect(report.source).toBe('netlink');
    expect(report.collectors.find((c) => c.name === 'tcpinfo')).toEqual(expect.objectContaining({ ok: true }));
    // One finding, the lossy port's: the clean one has none of its own.
    const upstream = report.findings.filter((f) => f.check === 'upstream_quality');
    expect(upstream).toHaveLength(1);
    expect(upstream[0]).toMatchObject({ severity: 'warning', labels: { port: '7004', direction: 'remote' } });
    expect(upstream[0]!.headline).toMatch(/^[\d.]+% of the segments sent to upstream port 7004 are retransmitted/);
    expect(upstream[0]!.evidence[0]).toMatch(/^port 7004: 8 connections, [\d.]+% of [\d.]+\/s segments retransmitted/);
  });

  it('with the procfs source diagnose leaves tcpinfo out rather than report it failed', { timeout: 60_000 }, async () => {
    const { ns } = lab;
    const report = await diagnose(ns, ['--diagnose.interval=0', '--collector.sockets.source=procfs', '--no-collector.process']);
    expect(report.source).toBe('procfs');
    expect(report.collectors.map((c) => c.name)).not.toContain('tcpinfo');
    expect(report.findings.find((f) => f.check === 'upstream_quality')?.headline).toMatch(/^Upstream connection quality: not checked, .*tcpinfo/);
  });
});
