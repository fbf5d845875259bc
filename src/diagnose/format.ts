/** Numbers as a person reads them in a finding. Pure. */

/** 0.7534 -> "75.3%", 0.8 -> "80%"; tiny non-zero shares keep a digit that shows they are not zero. */
export function percent(share: number): string {
  const value = share * 100;
  if (value !== 0 && Math.abs(value) < 0.1) return `${value.toPrecision(1)}%`;
  return `${Number(value.toFixed(1))}%`;
}

/** 2.5 -> "2.5/s", 0.125 -> "0.13/s", 1234.5 -> "1235/s". */
export function perSecond(value: number): string {
  return `${value >= 100 ? value.toFixed(0) : Number(value.toFixed(2))}/s`;
}

/** 7875 -> "2h 11m 15s", 90 -> "1m 30s", 0.5 -> "0.5s". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const whole = Math.round(seconds);
  const parts: string[] = [];
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) parts.push(`${hours}h`);
  if (minutes > 0) parts.push(`${minutes}m`);
  if (rest > 0) parts.push(`${rest}s`);
  return parts.join(' ');
}

/** 253816832 -> "242.1 MiB". */
export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit++;
  }
  return unit === 0 ? `${scaled} B` : `${scaled.toFixed(1)} ${units[unit]}`;
}

/** Socket counts stay plain integers (28232, not 28,232): easy to grep and to paste into a query. */
export function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** "5 s ago" / "1.5 s ago" for the interval between snapshots. */
export function secondsAgo(seconds: number): string {
  return `${Number(seconds.toFixed(1))} s ago`;
}
