// Merge queues: the `governance` check on a merge group's commit carries the strictest decision of the PRs in it.
import { z } from "zod";
import { MERGE_GROUP_REASON_PREFIX } from "../audit/store.js";
import { errorDecision } from "../policy/decide.js";
import type { Decision } from "../policy/decision.js";
import { describeGitHubError, governPullRequest, type GovernorState, type GovernRequest } from "./govern.js";
import { parsePayload, PayloadError, type PullRequest, PullRequestSchema, RepositorySchema } from "./payload.js";
import type { AppDeps } from "./ports.js";
import { checkRunKey } from "./report.js";
import { checkSummary } from "./summary.js";
import { decisionTitle } from "../report/phrases.js";

export const MergeGroupEventSchema = z.object({
  action: z.literal("checks_requested"),
  merge_group: z.object({ head_sha: z.string().regex(/^[0-9a-f]{40}$/), head_ref: z.string(), base_sha: z.string().min(7), base_ref: z.string() }),
  repository: RepositorySchema,
  installation: z.object({ id: z.number().int() }).optional(),
});

/** GitHub's queue branch: `gh-readonly-queue/{base}/pr-{number}-{head sha of that PR}`. */
export function queueEntry(headRef: string): { base: string; number: number; sha: string } | null {
  const m = /^(?:refs\/heads\/)?gh-readonly-queue\/(.+)\/pr-(\d+)-([0-9a-f]{40})$/.exec(headRef);
  return m ? { base: m[1]!, number: Number(m[2]), sha: m[3]! } : null;
}

const STRICTNESS: Record<Decision["outcome"], number> = { not_governed: 0, allowed: 1, needs_approval: 2, denied: 3, error: 4 };

/**
 * Evaluates every PR of the group again (the queued one, named by the branch, and those ahead of it: earlier groups on
 * the same base, from the audit trail) and reports the strictest decision on the group's commit. A group whose PRs
 * cannot be named or read fails closed.
 */
export async function governMergeGroup(req: Omit<GovernRequest, "repository" | "pr">, payload: unknown, state: GovernorState, deps: AppDeps): Promise<void> {
  const event = parsePayload(MergeGroupEventSchema, "merge_group", payload);
  const { repository, merge_group: group } = event;
  const owner = repository.owner.login;
  const repo = repository.name;
  const target = { owner, repo, headSha: group.head_sha };
  const id = await state.startCheck(req.octokit, target, deps.appId); // the group's check is pending at once
  const entry = queueEntry(group.head_ref);
  const numbers = entry
    ? [...new Set([...((await deps.audit.mergeGroupPrs?.(repository.full_name, group.base_sha)) ?? []), entry.number])].sort((a, b) => a - b)
    : [];
  const results: Array<{ pr: number; decision: Decision; row: number }> = [];
  let failure: string | undefined = entry
    ? undefined
    : `the merge group's branch ${group.head_ref} does not name its PR (gh-readonly-queue/{base}/pr-{number}-{sha}), so Governor cannot tell what it contains`;
  for (const number of failure ? [] : numbers) {
    let pr: PullRequest;
    try {
      const { data } = await req.octokit.rest.pulls.get({ owner, repo, pull_number: number });
      pr = parsePayload(PullRequestSchema, "pulls.get", data);
    } catch (error) {
      failure = `could not read PR #${number} of the merge group: ${error instanceof PayloadError ? error.message : describeGitHubError(error)}`;
      break;
    }
    // A PR ahead that left the queue unmerged (closed) is not in this group any more; the queued one must be as queued.
    if (number !== entry!.number && pr.state !== "open") continue;
    if (number === entry!.number && pr.head.sha !== entry!.sha) {
      failure = `PR #${number} was queued at ${entry!.sha.slice(0, 12)} but its head is now ${pr.head.sha.slice(0, 12)}`;
      break;
    }
    const result = await governPullRequest({ ...req, repository, pr }, state, deps);
    if (!result) {
      // Closed between the two reads: the queued PR must be open; one ahead that left the queue is not in the group.
      if (number === entry!.number) {
        failure = `PR #${number} of the merge group is no longer open`;
        break;
      }
      continue;
    }
    results.push({ pr: number, decision: result.decision, row: result.auditId });
  }
  const strictest = results.reduce<{ pr: number; decision: Decision; row: number } | undefined>(
    (a, b) => (!a || STRICTNESS[b.decision.outcome] > STRICTNESS[a.decision.outcome] ? b : a),
    undefined,
  );
  const decision =
    failure || !strictest
      ? errorDecision(
          failure ? { code: "github_failure", params: { detail: failure } } : { code: "merge_group_unevaluated", params: {} },
          [{ message: `${failure ?? "no PR evaluated"}. Governor fails closed on the merge group.` }],
          group.head_sha,
        )
      : { ...strictest.decision, head_sha: group.head_sha };
  const prs = results.map((r) => `#${r.pr} (audit row ${r.row}: ${decisionTitle(r.decision)})`).join(", ");
  const row = await deps.audit.record({
    recorded_at: deps.now().toISOString(),
    delivery_id: req.deliveryId,
    installation_id: req.installationId,
    repo: repository.full_name,
    pr: entry?.number ?? 0,
    head_sha: group.head_sha,
    base_sha: group.base_sha,
    agent: null, // the PRs' own rows carry their agents
    outcome: decision.outcome,
    decision,
    input: null,
    input_missing_reason: `${MERGE_GROUP_REASON_PREFIX}${group.head_ref}: the strictest decision of ${prs || "no PR"}${failure ? `; ${failure}` : ""}`,
  });
  const htmlBase = new URL(repository.html_url).origin;
  const summary = `This is a merge queue group of ${prs || "no PR Governor could read"}. Its check carries the strictest of their decisions${strictest && !failure ? ` (#${strictest.pr})` : ""}.\n\n${checkSummary(decision, { htmlBase, auditId: row.id, auditHash: row.hash })}`;
  await state.exclusive(checkRunKey(target), () => state.report(req.octokit, target, id, deps.appId, decision, summary, undefined));
}
