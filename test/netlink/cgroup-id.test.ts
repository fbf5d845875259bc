import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stateName, stateSlot } from '../../src/kernel/tcp.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { INET_DIAG_CGROUP_ID, INET_DIAG_MSG_LEN, NLMSG_HDRLEN } from '../../src/netlink/protocol.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import { CAPTURED_SEQ, capturedDatagrams, capturedFile, wordsOf } from '../helpers/captured-netlink.js';
import { SS_STATES } from '../helpers/netns.js';
import { RecordingSink, type SeenSocket } from '../helpers/recording-sink.js';

const cgroupDir = fileURLToPath(new URL('../fixtures/netlink/cgroup/', import.meta.url));

interface CapturedOwners {
  mount: string;
  owners: Array<{ path: string; id: number }>;
}

function parseChunks(chunks: Uint8Array[]): SeenSocket[] {
  const sink = new RecordingSink();
  const record = new InetDiagRecord();
  const progress = newDumpProgress();
  for (const chunk of chunks) parseDumpChunk(chunk, wordsOf(chunk), 0, chunk.length, CAPTURED_SEQ, record, sink, progress);
  expect(progress.done).toBe(true);
  return sink.seen;
}

const cgroupCapture = (): SeenSocket[] =>
  parseChunks(
    readdirSync(cgroupDir)
      .filter((f) => f.startsWith('all-') && f.endsWith('.bin'))
      .sort()
      .map((f) => capturedFile(`cgroup/${f}`)),
  );

/** `ss -tanH --cgroup` of the capture: state, local port, remote port -> cgroup path. */
function ssOwners(): Map<string, string> {
  const owners = new Map<string, string>();
  for (const line of readFileSync(`${cgroupDir}ss.txt`, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    const state = SS_STATES[fields[0]!]!;
    const local = Number(fields[3]!.split(':').at(-1));
    const remote = Number(fields[4]!.split(':').at(-1)) || 0;
    owners.set(`${state} ${local} ${remote}`, fields[5]!.replace(/^cgroup:/, ''));
  }
  return owners;
}

describe('INET_DIAG_CGROUP_ID in a real dump of sockets owned by processes in made cgroups', () => {
  const captured = JSON.parse(readFileSync(`${cgroupDir}cgroups.json`, 'utf8')) as CapturedOwners;
  const idOfPath = new Map(captured.owners.map((owner) => [owner.path, owner.id]));

  it('every socket carries the inode number (stat -c %i) of its cgroup directory, as ss --cgroup names it', () => {
    const sockets = cgroupCapture();
    const owners = ssOwners();
    expect(sockets.length).toBe(owners.size);
    expect(sockets.length).toBeGreaterThan(20);
    const perOwner = new Map<string, number>();
    for (const socket of sockets) {
      const key = `${stateName(stateSlot(socket.state))} ${socket.localPort} ${socket.remotePort}`;
      const path = owners.get(key);
      expect({ key, known: path !== undefined }).toEqual({ key, known: true });
      expect({ key, path, id: socket.cgroupId }).toEqual({ key, path, id: idOfPath.get(path!) });
      perOwner.set(path!, (perOwner.get(path!) ?? 0) + 1);
    }
    // Each of the three cgroups owns sockets, so no id could pass by accident.
    expect([...perOwner.keys()].sort()).toEqual([...idOfPath.keys()].sort());
    expect(new Set(captured.owners.map((owner) => owner.id)).size).toBe(3);
  });

  it('the id survives a message whose attributes come in another order, and a message without any', () => {
    const [chunk] = readdirSync(cgroupDir).filter((f) => f.startsWith('all-')).sort().map((f) => capturedFile(`cgroup/${f}`));
    const view = new DataView(chunk!.buffer, chunk!.byteOffset);
    const first = view.getUint32(0, true);
    // Truncate the first message to its bare inet_diag_msg: no attributes, so no id.
    const bare = new Uint8Array(NLMSG_HDRLEN + INET_DIAG_MSG_LEN + chunk!.length - first);
    bare.set(chunk!.subarray(0, NLMSG_HDRLEN + INET_DIAG_MSG_LEN));
    bare.set(chunk!.subarray(first), NLMSG_HDRLEN + INET_DIAG_MSG_LEN);
    new DataView(bare.buffer).setUint32(0, NLMSG_HDRLEN + INET_DIAG_MSG_LEN, true);
    const seen = parseChunks([bare, ...readdirSync(cgroupDir).filter((f) => f.startsWith('all-')).sort().slice(1).map((f) => capturedFile(`cgroup/${f}`))]);
    expect(seen[0]!.cgroupId).toBe(0);
    expect(seen[1]!.cgroupId).toBeGreaterThan(0);
    // A corrupt attribute length ends the walk: no id rather than a wrong one.
    const broken = capturedFile(`cgroup/${readdirSync(cgroupDir).filter((f) => f.startsWith('all-')).sort()[0]}`);
    const brokenView = new DataView(broken.buffer, broken.byteOffset);
    brokenView.setUint16(NLMSG_HDRLEN + INET_DIAG_MSG_LEN, 2, true);
    const sink = new RecordingSink();
    parseDumpChunk(broken, wordsOf(broken), 0, broken.length, CAPTURED_SEQ, new InetDiagRecord(), sink, newDumpProgress());
    expect(sink.seen[0]!.cgroupId).toBe(0);
    expect(sink.seen[1]!.cgroupId).toBeGreaterThan(0);
    expect(INET_DIAG_CGROUP_ID).toBe(21);
  });

  it('TIME_WAIT and request sockets carry none; every full socket does (the farm capture, taken as root)', () => {
    const sockets = parseChunks(capturedDatagrams('all'));
    const timeWait = sockets.filter((s) => s.state === 6);
    const requests = sockets.filter((s) => s.state === 3 && s.inode === 0);
    const full = sockets.filter((s) => s.inode !== 0);
    expect(timeWait.length).toBeGreaterThan(0);
    expect(requests.length).toBeGreaterThan(0);
    expect(full.length).toBeGreaterThan(100);
    expect(timeWait.every((s) => s.cgroupId === 0)).toBe(true);
    expect(requests.every((s) => s.cgroupId === 0)).toBe(true);
    expect(full.every((s) => s.cgroupId > 0)).toBe(true);
  });
});
