// The link of the audit chain: a row's SHA-256 over its id, its content and the previous row's hash.
import { createHash } from "node:crypto";
import { canonicalJson } from "../policy/canonical.js";
import type { AuditRow } from "./store.js";

export const GENESIS_HASH = "0".repeat(64);

/**
 * The hash of a row: its id, its content and the previous row's hash. Editing, deleting or reordering rows breaks it.
 * The two large texts (decision, input) are fed to the hash as they are stored, after the canonical header, rather than
 * JSON-escaped a second time inside it: that second pass was a third of the cost of a write.
 */
export function rowHash(row: Omit<AuditRow, "hash">): string {
  // The header's keys are listed in their canonical (sorted) order, so canonicalJson writes it with JSON.stringify
  // after a check instead of sorting a copy: the same bytes, and the hash of every stored row unchanged.
  const header = canonicalJson({
    agent: row.agent,
    base_sha: row.base_sha,
    decision_length: row.decision.length,
    delivery_id: row.delivery_id,
    evaluator_version: row.evaluator_version,
    head_sha: row.head_sha,
    id: row.id,
    input_length: row.input?.length ?? null,
    input_missing_reason: row.input_missing_reason,
    installation_id: row.installation_id,
    outcome: row.outcome,
    pr: row.pr,
    recorded_at: row.recorded_at,
    repo: row.repo,
    title: row.title,
  });
  return createHash("sha256")
    .update(row.prev_hash)
    .update("\n")
    .update(header)
    .update("\n")
    .update(row.decision)
    .update("\n")
    .update(row.input ?? "")
    .digest("hex");
}
