/**
 * The kernel's inet_diag bytecode audit and run (net/ipv4/inet_diag.c: inet_diag_bc_audit,
 * inet_diag_bc_run), restated for the port ops only, so unit tests can run the encoder's
 * programs over many ports without a kernel. The real kernel is tested as well.
 */

const NOP = 0;
const JMP = 1;
const S_GE = 2;
const S_LE = 3;
const D_GE = 4;
const D_LE = 5;
const S_EQ = 11;
const D_EQ = 12;
const PORT_OPS = new Set([S_GE, S_LE, D_GE, D_LE, S_EQ, D_EQ]);

interface Op {
  code: number;
  yes: number;
  no: number;
}

function op(bc: Uint8Array, at: number): Op {
  return { code: bc[at]!, yes: bc[at + 1]!, no: bc[at + 2]! | (bc[at + 3]! << 8) };
}

/** Whether an op boundary `target` bytes before the end is reached by following `yes` from the start. */
function validCc(bc: Uint8Array, remainingAtTarget: number): boolean {
  let len = bc.length;
  let at = 0;
  while (len > 0) {
    if (len === remainingAtTarget) return true;
    const o = op(bc, at);
    if (o.yes < 4) return false;
    at += o.yes;
    len -= o.yes;
  }
  return false;
}

/** The audit; returns the reason it would fail with EINVAL, or undefined when the kernel takes it. */
export function auditBytecode(bc: Uint8Array): string | undefined {
  let len = bc.length;
  let at = 0;
  while (len > 0) {
    const o = op(bc, at);
    let minLen = 4;
    if (PORT_OPS.has(o.code)) {
      if (len < 8) return `port op at ${at} is cut off`;
      minLen = 8;
    } else if (o.code !== JMP && o.code !== NOP) {
      return `unknown op ${o.code} at ${at}`;
    }
    if (o.code !== NOP) {
      if (o.no < minLen || o.no > len + 4 || (o.no & 3) !== 0) return `bad no ${o.no} at ${at}`;
      if (o.no < len && !validCc(bc, len - o.no)) return `no ${o.no} at ${at} lands off an op boundary`;
    }
    if (o.yes < minLen || o.yes > len + 4 || (o.yes & 3) !== 0) return `bad yes ${o.yes} at ${at}`;
    at += o.yes;
    len -= o.yes;
  }
  return len === 0 ? undefined : 'the yes chain does not end on the end';
}

/** Whether a socket with these host-order ports passes the filter. */
export function runBytecode(bc: Uint8Array, sport: number, dport: number): boolean {
  let len = bc.length;
  let at = 0;
  while (len > 0) {
    const o = op(bc, at);
    const arg = len >= 8 ? op(bc, at + 4).no : -1;
    let yes = true;
    switch (o.code) {
      case JMP: yes = false; break;
      case S_GE: yes = sport >= arg; break;
      case S_LE: yes = sport <= arg; break;
      case D_GE: yes = dport >= arg; break;
      case D_LE: yes = dport <= arg; break;
      case S_EQ: yes = sport === arg; break;
      case D_EQ: yes = dport === arg; break;
    }
    const step = yes ? o.yes : o.no;
    at += step;
    len -= step;
  }
  return len === 0;
}
