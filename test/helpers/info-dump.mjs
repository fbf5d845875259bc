// @ts-check
/**
 * Sends one sock_diag request (hex on argv[2]) from the network namespace this runs in and prints
 * {"datagrams": [base64, ...]} once NLMSG_DONE or NLMSG_ERROR has arrived. Pure I/O: the tests
 * encode the request and parse the reply with the code under test. Needs `npm run build`.
 */
const ffi = await import('../../dist/netlink/ffi.js');

const request = Uint8Array.from(Buffer.from(process.argv[2] ?? '', 'hex'));
if (request.length < 16) throw new Error('usage: info-dump.mjs <request as hex>');
const c = ffi.loadLibc();
const fd = ffi.openDiagSocket(c, 5000);
const datagrams = [];
try {
  ffi.sendAll(c, fd, request);
  let finished = false;
  for (let i = 0; i < 100_000 && !finished; i++) {
    const buf = new Uint8Array(65536);
    const d = buf.subarray(0, ffi.recvDatagram(c, fd, buf));
    datagrams.push(Buffer.from(d).toString('base64'));
    const view = new DataView(d.buffer, d.byteOffset, d.length);
    for (let off = 0; off + 16 <= d.length && view.getUint32(off, true) >= 16; off += (view.getUint32(off, true) + 3) & ~3) {
      const type = view.getUint16(off + 4, true);
      if (type === 2 || type === 3) finished = true; // NLMSG_ERROR, NLMSG_DONE
    }
  }
  if (!finished) throw new Error('no NLMSG_DONE after 100000 datagrams');
} finally {
  ffi.closeFd(c, fd);
}
process.stdout.write(JSON.stringify({ datagrams }) + '\n');
