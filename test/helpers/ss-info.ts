/** Parses `ss -tinoH` output (with or without the State column) into one entry per socket. */

export interface SsSocket {
  state: string | undefined;
  recvQ: number;
  sendQ: number;
  local: string;
  remote: string;
  /** timer:(name,time,count), when ss printed one (-o). */
  timer: { name: string; count: number } | undefined;
  /** key:value tokens of the info line (`rtt` -> "0.442/0.856", `retrans` -> "0/6"). */
  fields: Map<string, string>;
  /** Bare words of the info line: ts, sack, ecn, app_limited, the congestion control name. */
  flags: Set<string>;
}

/** Tokens followed by their value after a space rather than a colon. */
const SPACED = new Set(['send', 'pacing_rate', 'delivery_rate']);

export function parseSsInfo(output: string): SsSocket[] {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const sockets: SsSocket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!;
    if (head.startsWith('\t') || head.startsWith(' ')) throw new Error(`ss: info line without a socket line: ${head}`);
    const cols = head.trim().split(/\s+/);
    const state = /^\d+$/.test(cols[0]!) ? undefined : cols.shift();
    const timerMatch = /timer:\((\w+),[^,]*,(\d+)\)/.exec(head);
    const socket: SsSocket = {
      state,
      recvQ: Number(cols[0]),
      sendQ: Number(cols[1]),
      local: cols[2]!,
      remote: cols[3]!,
      timer: timerMatch ? { name: timerMatch[1]!, count: Number(timerMatch[2]) } : undefined,
      fields: new Map(),
      flags: new Set(),
    };
    const next = lines[i + 1];
    if (next !== undefined && /^\s/.test(next)) {
      i++;
      const tokens = next.trim().split(/\s+/);
      for (let t = 0; t < tokens.length; t++) {
        const token = tokens[t]!;
        const colon = token.indexOf(':');
        if (SPACED.has(token)) socket.fields.set(token, tokens[++t] ?? '');
        else if (colon > 0) socket.fields.set(token.slice(0, colon), token.slice(colon + 1));
        else socket.flags.add(token);
      }
    }
    sockets.push(socket);
  }
  return sockets;
}

/** `ss` value of `key` as a number (the part before any "/", "ms" or "("), or undefined when ss left it out. */
export function ssNumber(s: SsSocket, key: string): number | undefined {
  const v = s.fields.get(key);
  if (v === undefined) return undefined;
  const n = Number(/^[\d.]+/.exec(v)?.[0]);
  if (Number.isNaN(n)) throw new Error(`ss field ${key}:${v} is not a number`);
  return n;
}
