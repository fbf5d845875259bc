import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesPerPort, encodeBytecodeAttribute, encodePortFilter, INET_DIAG_REQ_BYTECODE, type PortFilter } from '../../src/netlink/bytecode.js';
import { encodeAllFamiliesInfoDumpRequest, encodeInfoDumpRequest, ESTABLISHED_ONLY, EXT_INFO } from '../../src/netlink/info-request.js';
import { TcpInfoReader } from '../../src/netlink/tcp-info.js';
import { auditBytecode, runBytecode } from '../helpers/bytecode-interpreter.js';
import { aligned, inetDiagMessages } from '../helpers/inet-diag-messages.js';
import { describeWithNetns, repoRoot, TestNamespace, type RunningFarm } from '../helpers/netns.js';
import { toolOrSkip } from '../helpers/require-tool.js';

const dumpScript = fileURLToPath(new URL('../helpers/info-dump.mjs', import.meta.url));

describe('port filter bytecode, run through a restatement of the kernel audit and interpreter', () => {
  const filters: PortFilter[] = [
    { localPorts: [80], remotePorts: [] },
    { localPorts: [], remotePorts: [5432] },
    { localPorts: [80, 443, 8080], remotePorts: [5432, 6379] },
    { localPorts: Array.from({ length: 64 }, (_, i) => 9000 + i * 7), remotePorts: Array.from({ length: 40 }, (_, i) => 30000 + i) },
  ];
  for (const equality of ['eq', 'range'] as const) {
    it(`matches exactly "local in set or remote in set" (${equality})`, () => {
      for (const filter of filters) {
        const bc = encodePortFilter(filter, { equality });
        expect(auditBytecode(bc)).toBeUndefined();
        const n = filter.localPorts.length + filter.remotePorts.length;
        expect(bc.length).toBe(n * bytesPerPort(equality) - 4);
        const local = new Set(filter.localPorts);
        const remote = new Set(filter.remotePorts);
        const probes = [0, 1, 79, 81, 65535, ...filter.localPorts, ...filter.remotePorts].flatMap((p) => [p, p + 1, p - 1]).filter((p) => p >= 0 && p <= 65535);
        for (const sport of probes) {
          for (const dport of [probes[0]!, probes[probes.length - 1]!, ...filter.remotePorts.slice(0, 3), 1, 81]) {
            expect(runBytecode(bc, sport, dport), `${sport} -> ${dport}`).toBe(local.has(sport) || remote.has(dport));
          }
        }
      }
    });
  }

  it('deduplicates ports and frames the program as an INET_DIAG_REQ_BYTECODE attribute', () => {
    expect(encodePortFilter({ localPorts: [80, 80, 80], remotePorts: [80] })).toEqual(encodePortFilter({ localPorts: [80], remotePorts: [80] }));
    const attr = encodeBytecodeAttribute(encodePortFilter({ localPorts: [80], remotePorts: [] }));
    expect([...attr]).toEqual([12, 0, INET_DIAG_REQ_BYTECODE, 0, 11, 8, 12, 0, 0, 0, 80, 0]);
  });

  it('refuses an empty filter, a bad port and a program beyond the u16 offsets, in one line each', () => {
    expect(() => encodePortFilter({ localPorts: [], remotePorts: [] })).toThrow(/^inet_diag bytecode: the port filter is empty/);
    expect(() => encodePortFilter({ localPorts: [65536], remotePorts: [] })).toThrow('inet_diag bytecode: local port 65536 is not an integer in 0..65535');
    expect(() => encodePortFilter({ localPorts: [], remotePorts: [1.5] })).toThrow('remote port 1.5');
    const many = Array.from({ length: 6000 }, (_, i) => i + 1);
    expect(() => encodePortFilter({ localPorts: many, remotePorts: [] })).toThrow(/^inet_diag bytecode: 6000 ports need 71996 bytes, more than the kernel's limit of 65531$/);
    expect(auditBytecode(encodePortFilter({ localPorts: many.slice(0, 5000), remotePorts: [] }))).toBeUndefined();
  });

  it('encodes the request: ESTABLISHED only, INET_DIAG_INFO, bytecode after the struct', () => {
    const bc = encodePortFilter({ localPorts: [80], remotePorts: [5432] });
    const v2 = encodeInfoDumpRequest(10, 42, { bytecode: bc });
    const view = new DataView(v2.buffer);
    expect([view.getUint32(0, true), view.getUint16(4, true), view.getUint32(8, true)]).toEqual([16 + 56 + 4 + bc.length, 20, 42]);
    expect([v2[16], v2[17], v2[18], view.getUint32(20, true)]).toEqual([10, 6, EXT_INFO, ESTABLISHED_ONLY]);
    expect(EXT_INFO).toBe(2);
    expect(ESTABLISHED_ONLY).toBe(2);
    expect(view.getUint16(72 + 2, true)).toBe(INET_DIAG_REQ_BYTECODE);
    expect(v2.subarray(76)).toEqual(bc);
    const compat = encodeAllFamiliesInfoDumpRequest(43);
    expect([compat.length, new DataView(compat.buffer).getUint16(4, true), compat[19], new DataView(compat.buffer).getUint32(16 + 52, true)]).toEqual([76, 18, EXT_INFO, 2]);
  });
});

describeWithNetns('port filter bytecode in a real kernel dump, against ss', () => {
  let ns: TestNamespace;
  let farm: RunningFarm;
  const PORTS = [8001, 8002, 8003, 8004];

  beforeAll(async () => {
    ns = await TestNamespace.create();
    farm = await ns.startFarm({
      listeners: [...PORTS.map((port) => ({ name: `p${port}`, port, backlog: 64 })), { name: 'v6', host: '::1', port: 8003, backlog: 64 }],
      groups: [...PORTS.map((port, i) => ({ kind: 'established', to: `p${port}`, count: i + 2 })), { kind: 'established', to: 'v6', count: 3 }],
    });
  });
  afterAll(async () => {
    await farm?.stop();
    await ns?.destroy();
  });

  async function kernelDump(request: Uint8Array, seq: number): Promise<string[]> {
    const { stdout } = await ns.exec(process.execPath, [dumpScript, Buffer.from(request).toString('hex')]);
    const chunks = (JSON.parse(stdout) as { datagrams: string[] }).datagrams.map((b) => aligned(Buffer.from(b, 'base64')));
    const info = new TcpInfoReader();
    return inetDiagMessages(chunks, seq).map((m) => {
      expect(m.state).toBe(1);
      expect(info.fromInetDiagMessage(m.bytes, m.payload, m.length)).toBe(true);
      expect(info.get('rtt')).toBeGreaterThan(0);
      return `${m.local} ${m.remote}`;
    }).sort();
  }

  async function ssEstablished(expression: string): Promise<string[]> {
    const { stdout } = await ns.exec('ss', ['-tanH', 'state', 'established', expression]);
    return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).slice(2, 4).join(' ')).sort();
  }

  it('returns exactly the sockets ss selects with the same expression, for both op sets and both request types', async () => {
    const filter = { localPorts: [8001, 8003], remotePorts: [8002] };
    const expected = await ssEstablished('( sport = :8001 or sport = :8003 or dport = :8002 )');
    // listeners' accepted ends on 8001 (2), 8003 (4 + 3 IPv6), clients towards 8002 (3)
    expect(expected).toHaveLength(12);
    for (const equality of ['eq', 'range'] as const) {
      const bytecode = encodePortFilter(filter, { equality });
      const v4 = await kernelDump(encodeInfoDumpRequest(2, 5, { bytecode }), 5);
      const v6 = await kernelDump(encodeInfoDumpRequest(10, 6, { bytecode }), 6);
      expect([...v4, ...v6].sort(), equality).toEqual(expected);
      expect(await kernelDump(encodeAllFamiliesInfoDumpRequest(7, { bytecode }), 7), equality).toEqual(expected);
    }
  });

  it('without a filter returns every ESTABLISHED socket, and a filter on an unused port returns none', async () => {
    const all = await ssEstablished('');
    expect(all).toHaveLength(2 * (2 + 3 + 4 + 5) + 2 * 3);
    expect(await kernelDump(encodeAllFamiliesInfoDumpRequest(8), 8)).toEqual(all);
    expect(await kernelDump(encodeAllFamiliesInfoDumpRequest(9, { bytecode: encodePortFilter({ localPorts: [9], remotePorts: [9] }) }), 9)).toEqual([]);
  });

  it('the C floor (bench/netlink-info-dump.c) makes the same filtered dump, and INET_DIAG_INFO adds one tcp_info attribute per record', async () => {
    const gcc = toolOrSkip('gcc', 'gcc');
    if (!gcc.available) return;
    const dir = mkdtempSync(join(tmpdir(), 'tcpinfo-floor-'));
    try {
      const bin = join(dir, 'netlink-info-dump');
      execFileSync(gcc.path!, ['-O2', '-Wall', '-Werror', '-o', bin, join(repoRoot, 'bench/netlink-info-dump.c')]);
      const expected = await ssEstablished('( sport = :8001 or sport = :8003 or dport = :8002 )');
      const run = async (...args: string[]): Promise<number[]> => (await ns.exec(bin, args)).stdout.trim().split(' ').map(Number);
      const [filtered, filteredBytes] = await run('--sport=8001', '--sport=8003', '--dport=8002');
      expect(filtered).toBe(expected.length);
      const [all, allBytes] = await run();
      const [bare, bareBytes] = await run('--no-info');
      expect([all, bare]).toEqual([(await ssEstablished('')).length, all]);
      // INET_DIAG_INFO adds one attribute per record: 4 bytes of header and sizeof(struct tcp_info).
      const infoBytesPerRecord = (allBytes! - bareBytes!) / all!;
      expect([252, 284]).toContain(infoBytesPerRecord); // 248 + 4 before the AccECN fields, 280 + 4 on 6.18
      expect(filteredBytes).toBeLessThan(allBytes!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused with EINVAL by the kernel where the restated audit refuses it too', async () => {
    const bad = encodePortFilter({ localPorts: [8001], remotePorts: [8002] });
    bad[2] = 10; // the first op's "no": not a multiple of 4
    expect(auditBytecode(bad)).toMatch(/bad no 10/);
    await expect(kernelDump(encodeInfoDumpRequest(2, 10, { bytecode: bad }), 10)).rejects.toThrow(/netlink error 22/);
  });
});
