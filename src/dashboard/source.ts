// What the dashboard reads from the audit trail: a narrow, async, read-only interface. Today SQLite (sqlite-source.ts);
// a PostgreSQL store implements the same. Nothing here writes.
import type { AuditRow } from "../audit/store.js";
import { OUTCOMES, type Outcome } from "../policy/decision.js";

export { OUTCOMES, type Outcome };

export interface DecisionFilters {
  /** The owner part of `owner/name`. */
  org?: string;
  repo?: string;
  agent?: string;
  outcome?: Outcome;
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

export interface Page<T> {
  items: T[];
  /** Opaque: pass it back as `cursor` for the next (older) page; null on the last page. */
  next: string | null;
}

export interface PageRequest {
  cursor?: string | null;
  limit: number;
}

/** What one agent did on one day (UTC): decisions by outcome, distinct PRs, lines changed in those PRs. */
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
  /** Decisions carrying an override rule (a rule id starting `override`), newest first. */
  overrides(filters: DecisionFilters, page: PageRequest): Promise<Page<DecisionListItem>>;
  /** Walks the whole chain: costly, so callers cache it. */
  verify(): Promise<VerifyStatus>;
  close(): Promise<void>;
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
