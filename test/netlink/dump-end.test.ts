import { describe, expect, it } from 'vitest';
import { endsDump, requestSeq } from '../../src/netlink/dump-end.js';
import { encodeAllFamiliesDumpRequest, encodeDumpRequest } from '../../src/netlink/protocol.js';
import { newDumpProgress, parseDumpChunk } from '../../src/netlink/parse.js';
import { InetDiagRecord } from '../../src/netlink/record.js';
import { CAPTURED_SEQ, capturedDatagrams, capturedFile, wordsOf } from '../helpers/captured-netlink.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const ends = (datagram: Uint8Array, seq = CAPTURED_SEQ): boolean => endsDump(datagram, wordsOf(datagram), 0, datagram.length, seq);

describe('endsDump: the dump thread sees the end of a dump from the framing alone', () => {
  for (const dump of ['ipv4', 'ipv6', 'all'] as const) {
    it(`agrees with the parser on every datagram of the captured ${dump} dump: only the last ends it`, () => {
      const datagrams = capturedDatagrams(dump);
      expect(datagrams.length).toBeGreaterThan(1);
      const progress = newDumpProgress();
      const verdicts = datagrams.map((datagram) => {
        const parsed = parseDumpChunk(datagram, wordsOf(datagram), 0, datagram.length, CAPTURED_SEQ, new InetDiagRecord(), new RecordingSink(), progress).done;
        expect(ends(datagram)).toBe(parsed);
        return parsed;
      });
      expect(verdicts).toEqual([...datagrams.slice(1).map(() => false), true]);
    });
  }

  it('ends on NLMSG_DONE with an error payload and on NLMSG_ERROR (the parser then throws)', () => {
    for (const file of ['done-enoent.bin', 'error-einval.bin']) {
      const datagram = capturedFile(file);
      const seq = wordsOf(datagram)[2]!; // these two were captured under their own sequence numbers
      expect(ends(datagram, seq)).toBe(true);
      expect(ends(datagram, seq + 1)).toBe(false);
    }
  });

  it("does not end on another request's NLMSG_DONE, nor on framing it cannot follow", () => {
    const last = capturedDatagrams('all').at(-1)!;
    expect(ends(last, CAPTURED_SEQ + 1)).toBe(false);
    const broken = last.slice();
    new DataView(broken.buffer).setUint32(0, 8, true); // a first message shorter than its header
    expect(ends(broken)).toBe(false);
    expect(ends(last.subarray(0, 12))).toBe(false);
  });

  it('does not end on bytes inside a message that look like an NLMSG_DONE at the tail', () => {
    const first = capturedDatagrams('all')[0]!;
    expect(ends(first)).toBe(false);
    const forged = first.slice();
    const view = new DataView(forged.buffer);
    const tail = forged.length - 20; // inside the datagram's last message, which runs to the end
    view.setUint32(tail, 20, true);
    view.setUint16(tail + 4, 3, true); // NLMSG_DONE
    view.setUint32(tail + 8, CAPTURED_SEQ, true);
    expect(ends(forged)).toBe(false);
  });

  it('reads the sequence number the request was encoded with', () => {
    expect(requestSeq(encodeDumpRequest(2, 0x1234_5678))).toBe(0x1234_5678);
    expect(requestSeq(encodeAllFamiliesDumpRequest(42))).toBe(42);
  });
});
