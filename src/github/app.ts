// The Probot app: which events lead to an evaluation, and how each names its PR.
import type { Context, Probot } from "probot";
import { errorDecision } from "../policy/decide.js";
import { PULL_REQUEST_ACTIONS, REVIEW_ACTIONS } from "./events.js";
import { governPullRequest, GovernorState } from "./govern.js";
import { parsePayload, PayloadError, type PullRequest, PullRequestEventSchema, PullRequestSchema, RerunEventSchema, RerunTargetSchema } from "./payload.js";
import type { AppDeps } from "./ports.js";
import { completeCheck, startCheck } from "./report.js";


export function governorApp(deps: AppDeps) {
  return (app: Probot): void => {
    const state = new GovernorState(deps.checkRuns);

    const fromPullRequestPayload = async (context: Context<"pull_request" | "pull_request_review">) => {
      const payload = context.payload as { action?: string; changes?: { base?: unknown } };
      if (context.name === "pull_request" && payload.action === "edited" && !payload.changes?.base) return; // only a base change matters
      let parsed;
      try {
        parsed = parsePayload(PullRequestEventSchema, context.name, context.payload);
      } catch (error) {
        return reportBadPayload(context, error);
      }
      const pr = await currentPullRequest(context, parsed.repository.owner.login, parsed.repository.name, parsed.pull_request);
      if (pr.state !== "open") return; // closed since this event: there is nothing left to govern
      await governPullRequest({
        octokit: context.octokit, repository: parsed.repository, pr,
        installationId: parsed.installation?.id ?? null, deliveryId: context.id, log: context.log,
      }, state, deps);
    };

    /**
     * The PR as it is now. A payload is a snapshot: redelivered or late events carry an old head, while the files API
     * always answers for the current one, so judging the payload's head could pair one commit with another's files.
     * If GitHub cannot answer, the payload's view is used and the calls that follow fail closed on the same outage.
     */
    async function currentPullRequest(context: Context, owner: string, repo: string, fallback: PullRequest): Promise<PullRequest> {
      try {
        const { data } = await context.octokit.rest.pulls.get({ owner, repo, pull_number: fallback.number });
        return parsePayload(PullRequestSchema, "pulls.get", data);
      } catch (error) {
        context.log.warn({ err: error, pr: fallback.number }, "could not read the PR's current state; using the webhook's");
        return fallback;
      }
    }

    app.on(PULL_REQUEST_ACTIONS.map((a) => `pull_request.${a}` as const), fromPullRequestPayload);
    app.on(REVIEW_ACTIONS.map((a) => `pull_request_review.${a}` as const), fromPullRequestPayload);

    // The Re-run button (check_run) and "Re-run all checks" (check_suite): evaluate the PR again, freshly read.
    app.on(["check_run.rerequested", "check_suite.rerequested"], async (context) => {
      const key = context.name === "check_run" ? "check_run" : "check_suite";
      let event;
      let run;
      try {
        event = parsePayload(RerunEventSchema, context.name, context.payload);
        run = parsePayload(RerunTargetSchema, `${context.name}.${key}`, (context.payload as Record<string, unknown>)[key]);
      } catch (error) {
        return reportBadPayload(context, error);
      }
      if (run.app?.id !== undefined && run.app.id !== deps.appId) return; // another app's check
      const owner = event.repository.owner.login;
      const repo = event.repository.name;
      let numbers = run.pull_requests.map((p) => p.number);
      if (numbers.length === 0) {
        // Forks leave pull_requests empty: find the PRs by their head commit.
        const { data } = await context.octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: run.head_sha });
        numbers = data.filter((p) => p.head.sha === run.head_sha && p.state === "open").map((p) => p.number);
      }
      for (const number of numbers) {
        const { data } = await context.octokit.rest.pulls.get({ owner, repo, pull_number: number });
        const pr = parsePayload(PullRequestSchema, "pulls.get", data);
        await governPullRequest({
          octokit: context.octokit, repository: event.repository, pr,
          installationId: event.installation?.id ?? null, deliveryId: context.id, log: context.log,
        }, state, deps);
      }
    });

    /** A payload Governor cannot read: fail the check when the commit can be named, and always log it. */
    async function reportBadPayload(context: Context, error: unknown): Promise<void> {
      if (!(error instanceof PayloadError)) throw error;
      context.log.error({ issues: error.issues }, error.message);
      const p = context.payload as { repository?: { owner?: { login?: string }; name?: string; full_name?: string }; pull_request?: { head?: { sha?: string }; number?: number } };
      const owner = p.repository?.owner?.login;
      const repo = p.repository?.name;
      const sha = p.pull_request?.head?.sha;
      const decision = errorDecision("Error: unreadable webhook payload", [{ message: error.message }], sha ?? "");
      deps.audit.record({
        recorded_at: deps.now().toISOString(), delivery_id: context.id, installation_id: (context.payload as { installation?: { id?: number } }).installation?.id ?? null,
        repo: p.repository?.full_name ?? "unknown", pr: p.pull_request?.number ?? 0, head_sha: sha ?? "", base_sha: "", agent: null,
        outcome: "error", decision, input: null, input_missing_reason: error.message,
      });
      if (!owner || !repo || !sha || !/^[0-9a-f]{40}$/.test(sha)) return;
      const target = { owner, repo, headSha: sha };
      const id = await startCheck(context.octokit, target, state.checkRuns, deps.appId);
      await completeCheck(context.octokit, target, id, decision, `❗ ${decision.summary}`, undefined);
    }
  };
}
