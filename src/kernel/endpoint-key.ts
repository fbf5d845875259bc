/**
 * Remote endpoint keys: one value per (remote address, remote port), the same from every socket
 * source, so sockets can be grouped by destination without a string per socket, and the few
 * destinations that get a label can be turned back into an address afterwards.
 *
 * - IPv4, and IPv4-mapped IPv6 (which shares the IPv4 port space): a number,
 *   address (network order, unsigned) * 65536 + port. Exact: it stays below 2^48.
 * - IPv6: a string of the 32 lowercase hex digits of the address in network order, ':' and the port.
 */
export type EndpointKey = number | string;

/** Two lowercase hex digits per byte value, so building an IPv6 key is 16 concatenations. */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function ipv4Key(networkOrderAddress: number, port: number): number {
  return (networkOrderAddress >>> 0) * 65536 + port;
}

export interface Endpoint {
  /** Dotted IPv4, or IPv6 in the RFC 5952 form (lowercase, longest zero run as ::). */
  address: string;
  port: number;
}

/** The address and port behind a key. */
export function endpointOfKey(key: EndpointKey): Endpoint {
  if (typeof key === 'number') {
    const address = Math.floor(key / 65536);
    return { address: `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`, port: key % 65536 };
  }
  const colon = key.indexOf(':');
  if (colon !== 32 || !/^[0-9a-f]{32}$/.test(key.slice(0, 32))) throw new RangeError(`not an IPv6 endpoint key: ${JSON.stringify(key)}`);
  return { address: formatIpv6(key.slice(0, 32)), port: Number(key.slice(33)) };
}

/** 32 hex digits -> RFC 5952 text: no leading zeros, the longest run of two or more zero groups as "::". */
export function formatIpv6(hex: string): string {
  const groups: number[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(parseInt(hex.slice(i, i + 4), 16));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (from: number, to: number): string => groups.slice(from, to).map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return text(0, 8);
  return `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}
