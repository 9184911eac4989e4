// `/governance release <reason>`: an owner ends a PR's sticky agent identity, as an audited decision.
import { z } from "zod";
import { RELEASE_REASON_PREFIX } from "../audit/store.js";
import { isAutomatedAccount } from "../policy/agents.js";
import { compiledPolicies, noPolicyDecision } from "../policy/decide.js";
import type { Decision } from "../policy/decision.js";
import { listTeamMembers } from "./change-builder.js";
import type { PullRequest, Repository } from "./payload.js";
import { baseBranchHead, readPolicies } from "./policy-source.js";
import type { AppDeps, Octokit } from "./ports.js";
import type { GovernorState } from "./govern.js";

/** The command, on a line of its own at the start of the comment. */
const COMMAND = /^\s*\/governance\s+release\b[ \t]*(.*)$/im;

export const ReleaseCommentSchema = z.object({
  action: z.literal("created"),
  issue: z.object({ number: z.number().int().positive(), pull_request: z.object({}).passthrough().optional() }),
  comment: z.object({ body: z.string(), user: z.object({ login: z.string().min(1), type: z.string().default("User") }) }),
  installation: z.object({ id: z.number().int() }).optional(),
});

/** The reason of a release command in `body`, "" when the command has none, or null when it is not the command. */
export function releaseCommand(body: string): string | null {
  const m = COMMAND.exec(body);
  return m ? (m[1] ?? "").trim() : null;
}

export type ReleaseOutcome = { released: true; auditId: number } | { released: false; why: string };

/**
 * Decides whether `by` may release the PR, and if so records the release. Only the policy's owners may (a user named
 * there, or a member of a team named there); never the PR's author, a bot or an agent, and never without a reason.
 */
export async function releasePullRequest(
  octokit: Octokit,
  state: GovernorState,
  deps: AppDeps,
  q: { repository: Repository; pr: PullRequest; by: { login: string; type: string }; reason: string; installationId: number | null; deliveryId: string | null },
): Promise<ReleaseOutcome> {
  const { repository, pr, by } = q;
  const known = await deps.audit.knownAgents(repository.full_name, pr.number);
  if (known.length === 0) return { released: false, why: `#${pr.number} is not governed as an agent's PR, so there is nothing to release.` };
  if (!q.reason) return { released: false, why: "a release needs a reason: `/governance release <reason>`; it goes into the audit trail." };
  const policies = await readPolicies(
    octokit,
    {
      owner: repository.owner.login,
      repo: repository.name,
      baseSha: await baseBranchHead(octokit, pr, { owner: repository.owner.login, repo: repository.name }),
    },
    state.policyTexts,
    () => deps.now().getTime(),
  );
  const sources = { ...(policies.org ? { org: policies.org } : {}), ...(policies.repo ? { repo: policies.repo } : {}) };
  const compiled = compiledPolicies(sources, state.compiled);
  if (!compiled.ok) return { released: false, why: "the policy at the PR's base is invalid, so its owners are not known; fix the policy first." };
  const definitions = compiled.policy.agents;
  if (isAutomatedAccount(by.login, by.type, definitions)) return { released: false, why: `@${by.login} is a bot or an agent; an agent cannot un-govern a PR.` };
  if (by.login.toLowerCase() === pr.user.login.toLowerCase()) return { released: false, why: `@${by.login} opened this PR; its author cannot release it.` };
  const owners = compiled.policy.owners?.value;
  if (!owners) return { released: false, why: "the policy names no owners, so nobody can release a PR." };
  const lower = by.login.toLowerCase();
  let owner = owners.users.some((u) => u.toLowerCase() === lower);
  for (const team of owners.teams) {
    if (owner) break;
    owner = (await listTeamMembers(octokit, team)).some((m) => m.toLowerCase() === lower);
  }
  if (!owner) {
    const who = [...owners.teams.map((t) => `@${t}`), ...owners.users.map((u) => `@${u}`)].join(", ");
    return { released: false, why: `only the policy's owners (${who}) can release a PR from agent governance; @${by.login} is not one of them.` };
  }
  const decision: Decision = {
    ...noPolicyDecision(pr.head.sha),
    cause: { code: "released", params: { by: by.login, pr: pr.number, was: known.join(", "), reason: q.reason } },
  };
  const row = await deps.audit.record({
    recorded_at: deps.now().toISOString(),
    delivery_id: q.deliveryId,
    installation_id: q.installationId,
    repo: repository.full_name,
    pr: pr.number,
    head_sha: pr.head.sha,
    base_sha: pr.base.sha,
    agent: null,
    outcome: "not_governed",
    decision,
    input: null,
    input_missing_reason: `${RELEASE_REASON_PREFIX}${by.login} (was ${known.join(", ")}): ${q.reason}`,
  });
  return { released: true, auditId: row.id };
}
