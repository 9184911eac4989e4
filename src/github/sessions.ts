// Runaway agent runs: a run past `limits.max_session_minutes` is reported or, with `on_session_over: cancel` and the
// app's optional `actions: write` permission, cancelled. Either way it is an audited decision.
import { z } from "zod";
import { workflowAgents } from "../policy/agents.js";
import { compiledPolicies } from "../policy/decide.js";
import { type Decision, DECISION_SCHEMA, EVALUATOR_VERSION } from "../policy/decision.js";
import { describeGitHubError, type GovernorState } from "./govern.js";
import { parsePayload } from "./payload.js";
import { readPolicies } from "./policy-source.js";
import type { AppDeps, Octokit } from "./ports.js";

export const SESSION_REASON_PREFIX = "session over: ";

const SessionEventSchema = z.object({
  action: z.enum(["in_progress", "completed"]),
  repository: z.object({ full_name: z.string(), name: z.string(), owner: z.object({ login: z.string() }), default_branch: z.string() }),
  installation: z.object({ id: z.number().int() }).optional(),
  workflow_job: z.object({
    id: z.number().int(),
    run_id: z.number().int(),
    workflow_name: z.string().nullable().optional(),
    head_sha: z.string(),
    started_at: z.string(),
    completed_at: z.string().nullable(),
  }),
});

type Log = { warn: (o: object, m: string) => void; error: (o: object, m: string) => void };

/** Runs already reported or cancelled by this process, and runs with a cancel timer pending: each is handled once. */
export class SessionWatch {
  readonly handled = new Set<number>();
  readonly timers = new Map<number, NodeJS.Timeout>();
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * At `in_progress`, with `on_session_over: cancel`, a timer is set for when the run passes its limit; at `completed`, a
 * run that took longer than the limit (and was not cancelled) is reported. The policy is read from the default branch,
 * never from the run's own head, which is the agent's code.
 */
export async function watchSession(
  req: { octokit: Octokit; payload: unknown; deliveryId: string | null; log: Log },
  state: GovernorState,
  watch: SessionWatch,
  deps: AppDeps,
): Promise<void> {
  const event = parsePayload(SessionEventSchema, "workflow_job", req.payload);
  const job = event.workflow_job;
  if (watch.handled.has(job.run_id)) return;
  const owner = event.repository.owner.login;
  const repo = event.repository.name;
  const { data: branch } = await req.octokit.rest.repos.getBranch({ owner, repo, branch: event.repository.default_branch });
  const policies = await readPolicies(req.octokit, { owner, repo, baseSha: branch.commit.sha }, state.policyTexts, () => deps.now().getTime());
  const sources = { ...(policies.org ? { org: policies.org } : {}), ...(policies.repo ? { repo: policies.repo } : {}) };
  if (!sources.org && !sources.repo) return;
  const compiled = compiledPolicies(sources, state.compiled);
  if (!compiled.ok) {
    req.log.warn({ run: job.run_id }, "the policy on the default branch is invalid: agent sessions are not watched until it is fixed");
    return;
  }
  const limit = compiled.policy.session.maxMinutes;
  const agents = workflowAgents(compiled.policy.agents, { workflow: job.workflow_name ?? "", path: null });
  if (!limit || agents.length === 0) return;
  const started = Date.parse(job.started_at);
  const run = {
    repo: event.repository.full_name,
    owner,
    name: repo,
    runId: job.run_id,
    headSha: job.head_sha,
    agent: agents.join(", "),
    limit: limit.value,
    installationId: event.installation?.id ?? null,
    deliveryId: req.deliveryId,
  };

  if (event.action === "completed") {
    const pending = watch.timers.get(job.run_id);
    if (pending) clearTimeout(pending);
    watch.timers.delete(job.run_id);
    const minutes = Math.ceil((Date.parse(job.completed_at ?? "") - started) / 60_000);
    if (minutes > limit.value) {
      watch.handled.add(job.run_id);
      await recordSession(
        deps,
        { ...run, minutes },
        "reported",
        `${run.agent}'s run ${run.runId} took ${minutes} minutes, over limits.max_session_minutes (${limit.value}); reported (on_session_over: ${compiled.policy.session.onOver})`,
      );
    }
    return;
  }
  if (compiled.policy.session.onOver !== "cancel" || watch.timers.has(job.run_id)) return;
  const due = started + limit.value * 60_000 + 1;
  const fire = async () => {
    watch.timers.delete(job.run_id);
    if (watch.handled.has(job.run_id)) return;
    watch.handled.add(job.run_id);
    const minutes = Math.floor((deps.now().getTime() - started) / 60_000);
    try {
      await req.octokit.request("POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel", { owner, repo, run_id: job.run_id });
      await recordSession(
        deps,
        { ...run, minutes },
        "cancelled",
        `${run.agent}'s run ${run.runId} passed limits.max_session_minutes (${limit.value}) after ${minutes} minutes; cancelled`,
      );
    } catch (error) {
      const status = (error as { status?: number }).status;
      const why =
        status === 403
          ? "Governor could not cancel it: the app lacks the actions: write permission (optional; see docs/operating.md), so it is reported instead"
          : `Governor could not cancel it (${describeGitHubError(error)}), so it is reported instead`;
      await recordSession(
        deps,
        { ...run, minutes },
        "reported",
        `${run.agent}'s run ${run.runId} passed limits.max_session_minutes (${limit.value}) after ${minutes} minutes. ${why}`,
      );
    }
  };
  const timer = setTimeout(
    () => void fire().catch((error: unknown) => req.log.error({ err: error, run: job.run_id }, "could not handle a runaway session")),
    Math.max(0, due - deps.now().getTime()),
  );
  timer.unref();
  watch.timers.set(job.run_id, timer);
}

interface SessionRun {
  repo: string;
  runId: number;
  headSha: string;
  agent: string;
  limit: number;
  minutes: number;
  installationId: number | null;
  deliveryId: string | null;
}

/** The audit row of a runaway session: no PR (pr 0), no input; the agent, run, minutes and limit in the decision. */
async function recordSession(deps: AppDeps, run: SessionRun, what: "cancelled" | "reported", message: string): Promise<void> {
  const decision: Decision = {
    schema: DECISION_SCHEMA,
    evaluator_version: EVALUATOR_VERSION,
    outcome: "denied",
    cause: { code: "session_over_limit", params: { action: what, agent: run.agent, run: run.runId, minutes: run.minutes, limit: run.limit, detail: message } },
    agent: null,
    agents: [],
    head_sha: run.headSha,
    rules: [{ id: "limits.max_session_minutes", action: "deny", files: [], reason: message, policy_ref: { source: "builtin", path: "", line: 0 } }],
    gates: { total: 0, met: 0 },
    unmatched_files: [],
    limits: [
      { id: "limits.max_session_minutes", limit: run.limit, actual: run.minutes, exceeded: true, scope: "repo", agent: run.agent, used: run.minutes, share: 0 },
    ],
    files_considered: 0,
    errors: [],
  };
  await deps.audit.record({
    recorded_at: deps.now().toISOString(),
    delivery_id: run.deliveryId,
    installation_id: run.installationId,
    repo: run.repo,
    pr: 0,
    head_sha: run.headSha,
    base_sha: "",
    agent: null,
    outcome: "denied",
    decision,
    input: null,
    input_missing_reason: `${SESSION_REASON_PREFIX}agent ${run.agent}, run ${run.runId}, ${run.minutes} minutes, limit ${run.limit}: ${what}`,
  });
}
