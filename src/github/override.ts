// `/governance override <reason>`: break glass. A person the policy's `overrides` names lifts the blocking rules of that
// file for the PR's head commit; the override is an input of the decision it produces, so it replays like any other.
import { z } from "zod";
import { isAutomatedAccount } from "../policy/agents.js";
import type { Override } from "../policy/change.js";
import { compiledPolicies, errorDecision } from "../policy/decide.js";
import type { Decision } from "../policy/decision.js";
import type { Overrides } from "../policy/schema.js";
import { listCommitSignals, listTeamMembers } from "./change-builder.js";
import { governPullRequest, type GovernorState, type GovernRequest } from "./govern.js";
import { baseBranchHead, readPolicies } from "./policy-source.js";
import type { AppDeps, Octokit } from "./ports.js";
import { decisionTitle } from "../report/phrases.js";

/** Shorter than this is not an account of why the glass was broken. */
export const MIN_REASON = 10;

const COMMAND = /^\s*\/governance\s+override\b[ \t]*(.*)$/im;

/** The reason of an override command in `body`, "" when it has none, or null when it is not the command. */
export function overrideCommand(body: string): string | null {
  const m = COMMAND.exec(body);
  return m ? (m[1] ?? "").trim() : null;
}

export const RequestedActionSchema = z.object({
  action: z.literal("requested_action"),
  requested_action: z.object({ identifier: z.string() }),
  check_run: z.object({
    head_sha: z.string(),
    app: z.object({ id: z.number().int() }).nullable().optional(),
    pull_requests: z.array(z.object({ number: z.number().int() })).default([]),
  }),
  installation: z.object({ id: z.number().int() }).optional(),
});

export type OverrideOutcome = { overridden: true; auditId: number; decision: Decision } | { overridden: false; why: string; auditId: number };

type Request = Pick<GovernRequest, "octokit" | "repository" | "pr" | "installationId" | "deliveryId" | "log"> & {
  by: { login: string; type: string };
  reason: string;
};

async function listed(octokit: Octokit, list: Overrides, login: string): Promise<boolean> {
  const lower = login.toLowerCase();
  if (list.users.some((u) => u.toLowerCase() === lower)) return true;
  for (const team of list.teams) if ((await listTeamMembers(octokit, team)).some((m) => m.toLowerCase() === lower)) return true;
  return false;
}

/**
 * Checks who asks and why, then evaluates the head again with the override as an input. Refusals are recorded too
 * (outside any head commit, so they never stand for a PR's decision at its head).
 */
export async function overridePullRequest(req: Request, state: GovernorState, deps: AppDeps): Promise<OverrideOutcome> {
  const { octokit, repository, pr, by } = req;
  const refuse = async (why: string): Promise<OverrideOutcome> => {
    const decision = errorDecision({ code: "override_refused", params: { by: by.login, pr: pr.number, head: pr.head.sha, why } }, [{ message: why }], "");
    const row = await deps.audit.record({
      recorded_at: deps.now().toISOString(),
      delivery_id: req.deliveryId,
      installation_id: req.installationId,
      repo: repository.full_name,
      pr: pr.number,
      head_sha: "",
      base_sha: pr.base.sha,
      agent: null,
      outcome: "error",
      decision,
      input: null,
      input_missing_reason: `override refused for @${by.login} at ${pr.head.sha}: ${why}`,
    });
    return { overridden: false, why, auditId: row.id };
  };

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
  if (!sources.org && !sources.repo) return refuse("there is no policy here, so nothing to override.");
  const compiled = compiledPolicies(sources, state.compiled);
  if (!compiled.ok) return refuse("the policy at the PR's base is invalid, so who may override is not known; fix the policy first.");
  const policy = compiled.policy;
  if (isAutomatedAccount(by.login, by.type, policy.agents)) return refuse(`@${by.login} is a bot or an agent; only a person can override.`);
  if (by.login.toLowerCase() === pr.user.login.toLowerCase()) return refuse(`@${by.login} opened this PR; its author cannot override its check.`);
  if (req.reason.length < MIN_REASON)
    return refuse(`an override needs a reason of at least ${MIN_REASON} characters: \`/governance override <reason>\`; it goes into the audit trail.`);
  const mine: Array<"org" | "repo"> = [];
  for (const source of ["org", "repo"] as const) {
    const list = policy.overrides[source]?.value;
    if (list && (await listed(octokit, list, by.login))) mine.push(source);
  }
  if (mine.length === 0) {
    const configured = Object.values(policy.overrides).length > 0;
    return refuse(
      configured ? `@${by.login} is not named in the policy's \`overrides\`.` : "the policy names no `overrides`, so nobody can override its decisions.",
    );
  }
  const signals = await listCommitSignals(octokit, repository.owner.login, repository.name, pr);
  if (signals.contributors.some((c) => c.toLowerCase() === by.login.toLowerCase()))
    return refuse(`@${by.login} contributed commits to this PR; a contributor cannot override its check.`);

  // What blocks now, from this PR's latest decision at the head: an allowed PR needs no override.
  const latest = (await deps.audit.latestForHead(repository.full_name, pr.head.sha)).find((r) => r.pr === pr.number);
  const current = latest ? (JSON.parse(latest.decision) as Decision) : null;
  if (current && (current.outcome === "allowed" || current.outcome === "not_governed"))
    return refuse(`#${pr.number} is not blocked at ${pr.head.sha.slice(0, 7)} (${decisionTitle(current)}); there is nothing to override.`);

  const at = deps.now().toISOString();
  const overrides: Override[] = mine.map((source) => ({ by: by.login, reason: req.reason, at, head_sha: pr.head.sha, source }));
  const result = await governPullRequest({ ...req, overrides }, state, deps);
  if (!result) return refuse(`#${pr.number} is no longer open.`);
  if (!result.decision.override) {
    const left = result.decision.rules
      .filter((r) => r.mode !== "observe" && r.overridden_by === undefined && (r.action === "deny" || (r.gate && !r.gate.met)))
      .map((r) => r.id);
    return {
      overridden: false,
      auditId: result.auditId,
      why: `@${by.login} may override only the ${mine.join(" and ")} policy's rules; ${left.join(", ") || "the decision"} still block${left.length === 1 ? "s" : ""} (${decisionTitle(result.decision)}).`,
    };
  }
  return { overridden: true, auditId: result.auditId, decision: result.decision };
}

/** The reply to the Override button: a button carries no reason, so it says how to comment, and who may. */
export function overrideInstructions(overrides: Partial<Record<"org" | "repo", { value: Overrides }>>): string {
  const who = Object.entries(overrides).flatMap(([source, o]) =>
    [...o.value.users.map((u) => `@${u}`), ...o.value.teams.map((t) => `@${t}`)].map((w) => `${w} (${source})`),
  );
  return `To override the \`governance\` check of this PR's current head commit, comment:\n\n    /governance override <reason, at least ${MIN_REASON} characters>\n\nOnly people the policy's \`overrides\` name may (${who.join(", ") || "nobody is named"}), never the PR's author, a contributor to it, a bot or an agent. The override is recorded in the audit trail and binds this commit only; a new push is evaluated normally.`;
}

/** The reply to a `/governance override` comment. */
export function overrideReply(outcome: OverrideOutcome, pr: number): string {
  if (!outcome.overridden) return `Not overridden: ${outcome.why} (audit row ${outcome.auditId})`;
  const o = outcome.decision.override!;
  return `Overridden: #${pr}'s \`governance\` check passes for this head commit by @${o.by.join(", @")}'s break-glass override (audit row ${outcome.auditId}), lifting ${o.rules.join(", ")}. Reason: ${o.reason}. A new push is evaluated normally.`;
}
