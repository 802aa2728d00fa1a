/**
 * RELIABILITY_MODE=short (default: bounded, for CI) or full (the issue's numbers). Each test picks
 * its sizes with `bySize` and prints one figure line with `figure`.
 */
export type ReliabilityMode = 'short' | 'full';

export const mode: ReliabilityMode = process.env.RELIABILITY_MODE === 'full' ? 'full' : 'short';

export function bySize<T>(sizes: { short: T; full: T }): T {
  return sizes[mode];
}

/** `name: k=v k=v`, printed as one line so CI logs and the README can quote it. */
export function figure(name: string, values: Record<string, string | number | boolean>): string {
  const line = `${name}: ${Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')} (mode=${mode})`;
  console.log(line);
  return line;
}
