/** One spelling per instant (2026-11-24T11:00:00.000Z), so that times compare correctly as text; unparsable text as it is. */
export function isoTime(value: string): string {
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}
