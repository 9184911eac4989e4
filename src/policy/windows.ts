// Rule time windows (`active.from` / `active.until`): when a rule is in force, and when that next changes.
import type { CompiledPolicy } from "./compile.js";
import type { Rule } from "./schema.js";

/** Start of an `active.from` bound: a bare date means midnight UTC. */
export function windowStart(value: string): number {
  return Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
}

/** End (exclusive) of an `active.until` bound: a bare date includes that whole day, UTC. */
export function windowEnd(value: string): number {
  return value.length === 10 ? Date.parse(`${value}T00:00:00Z`) + 86_400_000 : Date.parse(value);
}

/** Whether a rule is in force at `now` (ms since the epoch): from is inclusive, until exclusive. */
export function isActive(rule: Rule, now: number): boolean {
  if (!rule.active) return true;
  if (rule.active.from && now < windowStart(rule.active.from)) return false;
  if (rule.active.until && now >= windowEnd(rule.active.until)) return false;
  return true;
}

/**
 * The first instant strictly after `after` at which some rule's window opens or closes, or null when none is ahead.
 * At that instant `isActive` already gives the new answer, so an evaluation scheduled for it sees the change.
 */
export function nextWindowChange(policy: Pick<CompiledPolicy, "rules">, after: Date): Date | null {
  const t = after.getTime();
  let next = Number.POSITIVE_INFINITY;
  for (const { rule } of policy.rules) {
    const bounds = [rule.active?.from ? windowStart(rule.active.from) : Number.NaN, rule.active?.until ? windowEnd(rule.active.until) : Number.NaN];
    for (const b of bounds) if (b > t && b < next) next = b;
  }
  return Number.isFinite(next) ? new Date(next) : null;
}
