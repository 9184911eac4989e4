// Entries turned into the rows the audit chain stores, before any store is touched: the canonical JSON, the stored
// input, the budget and identity writes they imply. Both stores do this outside their write transaction (SQLite) or
// before they take a connection and the chain's lock (PostgreSQL), so the lock is held only to link and insert.
import { canonicalJson } from "../policy/canonical.js";
import type { PolicyRefs } from "../store/policy-refs.js";
import { decisionTitle } from "../report/phrases.js";
import { isoTime } from "../util/iso-time.js";
import { agentNames, isMergeGroupRow, isReleaseRow } from "./identity.js";
import { GENESIS_HASH, rowHash } from "./row-hash.js";
import type { AuditEntry, AuditRow } from "./store.js";

/** One PR's budget entry: the first agent seen keeps it, with the time the PR was opened. */
export interface AgentPr {
  repo: string;
  pr: number;
  agent: string;
  created_at: string;
}

/** A write to pr_identities that row `row` of the batch implies: its release ends the PR's identity, or it adds an agent. */
export type IdentityWrite = { row: number; repo: string; pr: number; release: true } | { row: number; repo: string; pr: number; release: false; agent: string };

export interface PreparedEntries {
  /** The rows as stored, in order; their chain link (`id`, `prev_hash`, `hash`) is set by `linkRows`. */
  readonly rows: AuditRow[];
  /** The policy texts the rows refer to, each once. */
  readonly texts: Array<{ sha256: string; text: string }>;
  /** The first agent row of each PR in the batch (INSERT OR IGNORE keeps the first of the table). */
  readonly agentPrs: AgentPr[];
  /** Identity writes in row order, without repeats within the batch. */
  readonly identities: IdentityWrite[];
}

/** Serialises entries for an append. Pure but for `refs`' cache of policy-text hashes. */
export function prepareEntries(entries: readonly AuditEntry[], refs: PolicyRefs): PreparedEntries {
  const texts = new Map<string, string>();
  const agentPrs = new Map<string, AgentPr>();
  const identities: IdentityWrite[] = [];
  const identified = new Set<string>();
  const rows = entries.map((entry, index): AuditRow => {
    let input: string | null = null;
    if (entry.input) {
      const stashed = refs.stash(entry.input);
      input = stashed.stored;
      for (const t of stashed.texts) texts.set(t.sha256, t.text);
    }
    const row: AuditRow = {
      id: 0,
      recorded_at: entry.recorded_at,
      delivery_id: entry.delivery_id,
      installation_id: entry.installation_id,
      repo: entry.repo,
      pr: entry.pr,
      head_sha: entry.head_sha,
      base_sha: entry.base_sha,
      agent: entry.agent,
      outcome: entry.outcome,
      evaluator_version: entry.decision.evaluator_version,
      title: decisionTitle(entry.decision),
      // The input is stored as read (it is parsed again before use); only the decision is compared byte for byte.
      decision: canonicalJson(entry.decision),
      input,
      input_missing_reason: entry.input ? null : (entry.input_missing_reason ?? "not recorded"),
      prev_hash: "",
      hash: "",
    };
    const pr = `${entry.repo}#${entry.pr}`;
    if (entry.agent && !agentPrs.has(pr))
      agentPrs.set(pr, { repo: entry.repo, pr: entry.pr, agent: entry.agent, created_at: isoTime(entry.input?.change.created_at ?? entry.recorded_at) });
    // Sticky identity, written with the decision that established it; a release row ends it.
    if (isReleaseRow(row)) {
      identities.push({ row: index, repo: entry.repo, pr: entry.pr, release: true });
      for (const key of [...identified]) if (key.startsWith(`${pr}\n`)) identified.delete(key);
    } else if (!isMergeGroupRow(row)) {
      for (const agent of agentNames(entry.decision)) {
        const key = `${pr}\n${agent}`;
        if (identified.has(key)) continue;
        identified.add(key);
        identities.push({ row: index, repo: entry.repo, pr: entry.pr, release: false, agent });
      }
    }
    return row;
  });
  return { rows, texts: [...texts].map(([sha256, text]) => ({ sha256, text })), agentPrs: [...agentPrs.values()], identities };
}

/** Links `rows` after `head` (the genesis when there is none), in place. */
export function linkRows(rows: readonly AuditRow[], head: { id: number; hash: string } | undefined): void {
  let id = head?.id ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  for (const row of rows) {
    row.id = ++id;
    row.prev_hash = prev;
    row.hash = prev = rowHash(row);
  }
}
