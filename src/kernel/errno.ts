/** Linux errno numbers the exporter tells apart, and their names for messages: the one table. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EINVAL: 22,
  ENOSYS: 38,
  EPROTO: 71,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  ENOBUFS: 105,
} as const;

const NAMES = new Map<number, string>(Object.entries(ERRNO).map(([name, number]) => [number, name]));

/** "EPERM", or "errno 42" for a number not in the table. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}
