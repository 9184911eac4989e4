// What the dashboard reads from the audit trail: a narrow, async, read-only interface. Today SQLite (sqlite-source.ts);
// a PostgreSQL store implements the same. Nothing here writes.
import type { AuditRow } from "../audit/store.js";
import { OUTCOMES, type Outcome } from "../policy/decision.js";

export { OUTCOMES, type Outcome };

export const DECISION_MODES = ["observe", "enforce"] as const;
export type DecisionMode = (typeof DECISION_MODES)[number];

/**
 * SQL over the `decision` column, the same for SQLite and PostgreSQL. Decisions are stored as canonical JSON, so a key
 * and its value read exactly so; inside a string (a reason, a file name) the quotes would be escaped and cannot match.
 * Only an applied rule carries `"mode":"observe"`; only an override decision carries an `override` object (its keys
 * sorted, `at` first).
 */
export const OBSERVE_SQL = `decision LIKE '%"mode":"observe"%'`;
export const OVERRIDE_SQL = `decision LIKE '%"override":{"at":%'`;

export interface DecisionFilters {
  /** The owner part of `owner/name`. */
  org?: string;
  repo?: string;
  agent?: string;
  outcome?: Outcome;
  /** `observe`: a part in observe mode applied (shown, recorded, not deciding); `enforce`: every part that applied was enforced. */
  mode?: DecisionMode;
  /** ISO 8601 instants, `since` inclusive, `until` exclusive. */
  since?: string;
  until?: string;
}

/** One line of the decisions list: the row's columns without the large decision and input texts. */
export interface DecisionListItem {
  id: number;
  recorded_at: string;
  repo: string;
  pr: number;
  head_sha: string;
  agent: string | null;
  outcome: Outcome;
  title: string;
  evaluator_version: string;
  hash: string;
}

/** An overrides-page line: the decision's list columns and who lifted which rules, why and when. */
export interface OverrideItem extends DecisionListItem {
  /** Null when the stored object is not of the shape this dashboard reads (the row is still listed). */
  override: OverrideFacts | null;
}

export interface OverrideFacts {
  by: string[];
  reason: string;
  at: string;
  rules: string[];
}

export interface Page<T> {
  items: T[];
  /** Opaque: pass it back as `cursor` for the next (older) page; null on the last page. */
  next: string | null;
}

export interface PageRequest {
  cursor?: string | null;
  limit: number;
}

/**
 * What one agent did on one day (UTC): decisions by outcome, distinct PRs, lines changed in those PRs, decisions a
 * break-glass override let through, and minutes of its workflow jobs completed that day.
 */
export interface AgentDay {
  agent: string;
  day: string;
  prs: number;
  lines: number;
  allowed: number;
  needs_approval: number;
  denied: number;
  error: number;
  not_governed: number;
  overrides: number;
  compute_minutes: number;
}

/** A limit as the latest decision for one repository and agent measured it. */
export interface BudgetLine {
  repo: string;
  agent: string;
  id: string;
  limit: number;
  actual: number;
  exceeded: boolean;
  decision_id: number;
  recorded_at: string;
}

export interface VerifyStatus {
  ok: boolean;
  rows: number;
  /** The row at fault (null when the damage is outside the rows, or none). */
  broken_id: number | null;
  problem: string | null;
  checked_at: string;
  ms: number;
}

export interface AuditSource {
  /** Newest first, keyset-paginated on the row id. */
  listDecisions(filters: DecisionFilters, page: PageRequest): Promise<Page<DecisionListItem>>;
  getDecision(id: number): Promise<AuditRow | undefined>;
  /** Every decision of one PR, oldest first. */
  prHistory(repo: string, pr: number): Promise<AuditRow[]>;
  agentActivity(filters: { org?: string; since: string; until: string }): Promise<AgentDay[]>;
  budgets(filters: { org?: string }): Promise<BudgetLine[]>;
  /** Decisions a break-glass override let through (`decision.override`, from `/governance override`), newest first. */
  overrides(filters: DecisionFilters, page: PageRequest): Promise<Page<OverrideItem>>;
  /** Walks the whole chain: costly, so callers cache it. */
  verify(): Promise<VerifyStatus>;
  close(): Promise<void>;
}

/** The stored `decision.override` object, checked: null when it is not of that shape. */
export function parseOverride(text: string | null): OverrideFacts | null {
  if (!text) return null;
  const v = JSON.parse(text) as Partial<OverrideFacts> | null;
  if (typeof v !== "object" || v === null) return null;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === "string");
  if (!strings(v.by) || !strings(v.rules) || typeof v.reason !== "string" || typeof v.at !== "string") return null;
  return { by: v.by, reason: v.reason, at: v.at, rules: v.rules };
}

/** Limits as the decision stored them; anything not of that shape is left out rather than guessed at. */
export function parseLimits(text: string | null): Array<{ id: string; limit: number; actual: number; exceeded: boolean }> {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return [];
  return value.filter(
    (l): l is { id: string; limit: number; actual: number; exceeded: boolean } =>
      typeof l === "object" &&
      l !== null &&
      typeof (l as { id?: unknown }).id === "string" &&
      typeof (l as { limit?: unknown }).limit === "number" &&
      typeof (l as { actual?: unknown }).actual === "number" &&
      typeof (l as { exceeded?: unknown }).exceeded === "boolean",
  );
}

/** One line per stored limit of the latest decision for a repository and agent (`limits`: the decision's, as JSON). */
export function budgetLines(rows: ReadonlyArray<{ id: number; recorded_at: string; repo: string; agent: string; limits: string | null }>): BudgetLine[] {
  return rows.flatMap((r) =>
    parseLimits(r.limits).map((l) => ({
      repo: r.repo,
      agent: r.agent,
      id: l.id,
      limit: l.limit,
      actual: l.actual,
      exceeded: l.exceeded,
      decision_id: r.id,
      recorded_at: r.recorded_at,
    })),
  );
}

/** A chain verification as the dashboard shows it, timed from `started` (performance.now()). */
export function verifyStatus(result: { rows: number; broken: { id: number | null; problem: string } | null }, started: number): VerifyStatus {
  return {
    ok: result.broken === null,
    rows: result.rows,
    broken_id: result.broken?.id ?? null,
    problem: result.broken?.problem ?? null,
    checked_at: new Date().toISOString(),
    ms: Math.round(performance.now() - started),
  };
}

/** A list item with its parsed override (null when not of the stored shape: the row is listed, its details not guessed at). */
export function withOverride(item: DecisionListItem & { override: string | null }): OverrideItem {
  return { ...item, override: parseOverride(item.override) };
}

/** Decision counts, lines and compute minutes (by `agent\0day`) as one list by day then agent; compute-only days too. */
export function mergeAgentDays(
  counts: ReadonlyArray<Omit<AgentDay, "lines" | "compute_minutes">>,
  lines: Map<string, number>,
  compute: Map<string, number>,
): AgentDay[] {
  const out = counts.map((c) => ({ ...c, lines: lines.get(`${c.agent}\0${c.day}`) ?? 0, compute_minutes: compute.get(`${c.agent}\0${c.day}`) ?? 0 }));
  const seen = new Set(out.map((d) => `${d.agent}\0${d.day}`));
  for (const [key, minutes] of compute) {
    if (seen.has(key)) continue;
    const [agent = "", day = ""] = key.split("\0");
    out.push({ agent, day, prs: 0, lines: 0, allowed: 0, needs_approval: 0, denied: 0, error: 0, not_governed: 0, overrides: 0, compute_minutes: minutes });
  }
  return out.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
}

export class CursorError extends Error {
  override name = "CursorError";
}

/** Cursors are opaque to clients; today they carry the id of the last row shown. */
export function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const m = /^id:(\d{1,15})$/.exec(text);
  if (!m) throw new CursorError(`not a cursor from this API: ${JSON.stringify(cursor.slice(0, 40))}`);
  return Number(m[1]);
}
