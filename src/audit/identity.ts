// Which agents a recorded decision binds its PR to (sticky identity), and the two kinds of row that bind none.
import type { Decision } from "../policy/decision.js";

/** The agents a decision binds the PR to (every matching agent; the primary one first seen in `agent`). */
export function agentNames(decision: Decision): string[] {
  // Decisions recorded before evaluator 1.2.0 have no `agents`: their one agent is `agent`.
  const all = (decision.agents as Decision["agents"] | undefined) ?? [];
  return [...new Set([...(decision.agent ? [decision.agent.name] : []), ...all.map((a) => a.name)])].sort();
}

/** A release (`/governance release`) is recorded as a row without input whose reason starts so; it ends the PR's sticky identity. */
export const RELEASE_REASON_PREFIX = "released by @";
export const isReleaseRow = (row: { input: unknown; input_missing_reason: string | null | undefined }) =>
  row.input === null && (row.input_missing_reason ?? "").startsWith(RELEASE_REASON_PREFIX);

/** A merge queue group's row (src/github/merge-group.ts): the strictest decision of several PRs, no identity of its own. */
export const MERGE_GROUP_REASON_PREFIX = "merge group ";
export const isMergeGroupRow = (row: { input: unknown; input_missing_reason: string | null | undefined }) =>
  row.input === null && (row.input_missing_reason ?? "").startsWith(MERGE_GROUP_REASON_PREFIX);

/**
 * What a row does to its PR's sticky identity (pr_identities): a release ends it, a merge group row leaves it alone,
 * any other row adds the agents its decision names. For writers that rebuild the table from rows (imports).
 */
export function identityEffect(row: {
  input: unknown;
  input_missing_reason: string | null | undefined;
  decision: string;
}): { release: true } | { release: false; agents: string[] } {
  if (isReleaseRow(row)) return { release: true };
  return { release: false, agents: isMergeGroupRow(row) ? [] : agentNames(JSON.parse(row.decision) as Decision) };
}
