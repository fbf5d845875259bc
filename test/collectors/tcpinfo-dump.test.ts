/**
 * The tcp_info dump on this host's real kernel, over loopback sockets the test opens: the port
 * filter's forms, and the fallback for a kernel without the S_EQ/D_EQ ops. This kernel has them,
 * so an older one is played by turning those ops into a code no kernel knows: the kernel's own
 * audit then answers EINVAL, as an older kernel's does for ops it does not know.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpTcpInfo, serverPortsWithoutCountingDump, type PortFilterMode } from '../../src/collectors/tcpinfo-dump.js';
import { ServerPortTally, watchedPorts } from '../../src/collectors/tcpinfo-ports.js';
import type { DumpRequestEncoder, RequestedDump } from '../../src/kernel/socket-record.js';
import { INET_DIAG_BC_D_EQ, INET_DIAG_BC_S_EQ } from '../../src/netlink/bytecode.js';
import { INET_DIAG_REQ_LEN, INET_DIAG_REQ_V2_LEN, NLMSG_HDRLEN, TCPDIAG_GETSOCK } from '../../src/netlink/protocol.js';
import { TcpInfoSummary } from '../../src/netlink/tcpinfo-summary.js';
import { liveNetlinkOrSkip } from '../helpers/live-netlink.js';

const netlink = liveNetlinkOrSkip('the tcp_info dump tests');

/** Rewrites every S_EQ/D_EQ op of the request's bytecode into an op code the kernel does not know. */
function withoutEqualityOps(encode: DumpRequestEncoder): DumpRequestEncoder {
  return (family, seq) => {
    const bytes = encode(family, seq);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const request = view.getUint16(4, true) === TCPDIAG_GETSOCK ? INET_DIAG_REQ_LEN : INET_DIAG_REQ_V2_LEN;
    const program = NLMSG_HDRLEN + request + 4; // after the nlattr header
    for (let op = program; op < bytes.length; op += 4) if (bytes[op] === INET_DIAG_BC_S_EQ || bytes[op] === INET_DIAG_BC_D_EQ) bytes[op] = 0xee;
    return bytes;
  };
}

describe.skipIf(netlink === undefined)('the tcp_info dump, on this kernel', () => {
  let server: Server;
  let client: Socket;
  let port = 0;
  const accepted: Socket[] = [];

  beforeAll(async () => {
    server = createServer((s) => accepted.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    client = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    for (let i = 0; i < 50 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => {
    client?.destroy();
    for (const s of accepted) s.destroy();
    server?.close();
  });

  const source = netlink!;
  const watched = () => watchedPorts({ kept: [port], folded: [] }, [port]);

  async function run(dump: RequestedDump, mode: PortFilterMode, logs: string[] = []) {
    const w = watched();
    const summary = new TcpInfoSummary(w.series.length);
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    const result = await dumpTcpInfo(source, dump, w, summary, mode, logger);
    return { result, summary };
  }

  it.each(['auto', 'range', 'off'] as const)('port filter %s: the server side and the client side of the one connection, each in its own series', async (mode) => {
    const { result, summary } = await run(source.requestedDump(), mode);
    expect(result.filter).toBe({ auto: 'eq', range: 'range', off: 'none' }[mode]);
    // series 0: local port (the accepted socket), 1: remote port (the client)
    expect([summary.sockets[0], summary.sockets[1]]).toEqual([1, 1]);
    expect(summary.has('rtt')).toBe(true);
    // With a filter the kernel sends these two sockets and no other ESTABLISHED one.
    if (mode !== 'off') expect(result.records).toBe(2);
    else expect(result.records).toBeGreaterThanOrEqual(2);
  });

  it('a kernel that refuses the equality ops: one EINVAL, one log line, then the range form, for this scrape and the next', async () => {
    const plain = source.requestedDump();
    const requests: DumpRequestEncoder[] = [];
    const oldKernel: RequestedDump = (sink, encode) => (requests.push(encode), plain(sink, withoutEqualityOps(encode)));
    const logs: string[] = [];
    const first = await run(oldKernel, 'auto', logs);
    expect(first.result.filter).toBe('range');
    expect([first.summary.sockets[0], first.summary.sockets[1]]).toEqual([1, 1]);
    expect(requests).toHaveLength(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('the kernel refuses the inet_diag port equality ops');
    const second = await run(oldKernel, 'auto', logs);
    expect(second.result.filter).toBe('range');
    expect(requests).toHaveLength(3);
    expect(logs).toHaveLength(1);
  });

  it('alone (no counting dump to ride): the listeners from a LISTEN-only dump; over the cap, a counting dump ranks them', async () => {
    const tally = new ServerPortTally();
    const under = await serverPortsWithoutCountingDump(source, source.requestedDump(), tally, [], 65536);
    expect(under.kept).toContain(port);
    expect(under.folded).toEqual([]);
    // Only the listener was dumped: the accepted and the client socket were not.
    expect(tally.sockets[port]).toBe(1);
    const listeners = tally.listeningPorts().length;
    expect(listeners).toBeGreaterThanOrEqual(1);

    tally.reset();
    const over = await serverPortsWithoutCountingDump(source, source.requestedDump(), tally, [1], 1);
    expect(over.kept).toHaveLength(1);
    expect(over.kept.length + over.folded.length).toBeGreaterThanOrEqual(2);
    // Every state of our port now: the listener and the accepted socket.
    expect(tally.sockets[port]).toBe(2);
  });
});
