// The Probot app: which events lead to an evaluation, and how each names its PR.
import type { Context, Probot } from "probot";
import { errorDecision } from "../policy/decide.js";
import type { Coded } from "../policy/decision.js";
import { causeTitle } from "../report/phrases.js";
import { PULL_REQUEST_ACTIONS, REVIEW_ACTIONS } from "./events.js";
import { describeGitHubError, governPullRequest, GovernorState } from "./govern.js";
import { checkRunKey } from "./report.js";
import { checkSummary } from "./summary.js";
import {
  parsePayload,
  PayloadError,
  type PullRequest,
  PullRequestEventSchema,
  PullRequestSchema,
  type Repository,
  RepositorySchema,
  RerunEventSchema,
  RerunTargetSchema,
} from "./payload.js";
import { governMergeGroup } from "./merge-group.js";
import { releaseCommand, ReleaseCommentSchema, releasePullRequest } from "./release.js";
import type { AppDeps } from "./ports.js";
import { recordWorkflowJob } from "./workflow-jobs.js";
import { SessionWatch, watchSession } from "./sessions.js";
import { overrideCommand, overrideInstructions, overridePullRequest, overrideReply, RequestedActionSchema } from "./override.js";
import { OVERRIDE_ACTION } from "./override-report.js";
import { policyPushOf, scheduleAfterPolicyPush } from "./policy-push.js";
import { baseBranchHead, readPolicies } from "./policy-source.js";
import { compiledPolicies } from "../policy/decide.js";

/** What the runtime can ask of the loaded app beyond webhooks. */
export interface GovernorApi {
  /** Evaluates an open PR again, freshly read (a time window opened or closed); no event is needed. */
  reevaluate(q: { repo: string; pr: number; installationId: number | null; deliveryId: string }): Promise<void>;
}

export function governorApp(deps: AppDeps, hooks: { ready?: (api: GovernorApi) => void } = {}) {
  return (app: Probot): void => {
    const state = new GovernorState(deps.checkRuns, deps.commitLock);
    const sessions = new SessionWatch();

    hooks.ready?.({
      async reevaluate(q) {
        if (q.installationId === null) throw new Error(`cannot evaluate ${q.repo}#${q.pr} again: no installation recorded`);
        const octokit = await app.auth(q.installationId);
        const [owner = "", repo = ""] = q.repo.split("/");
        const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: q.pr });
        const pr = parsePayload(PullRequestSchema, "pulls.get", data);
        if (pr.state !== "open") return;
        const repository = parsePayload(RepositorySchema, "pulls.get base.repo", data.base.repo);
        await governPullRequest({ octokit, repository, pr, installationId: q.installationId, deliveryId: q.deliveryId, log: app.log }, state, deps);
      },
    });

    const fromPullRequestPayload = async (context: Context<"pull_request" | "pull_request_review">) => {
      const payload = context.payload as { action?: string; changes?: { base?: unknown } };
      if (context.name === "pull_request" && payload.action === "edited" && !payload.changes?.base) return; // only a base change matters
      let parsed;
      try {
        parsed = parsePayload(PullRequestEventSchema, context.name, context.payload);
      } catch (error) {
        return reportBadPayload(context, error);
      }
      // The PR is read afresh by the evaluation (a payload is a snapshot; a late event carries an old head), and one
      // closed since this event is left alone.
      await governPullRequest(
        {
          octokit: context.octokit,
          repository: parsed.repository,
          pr: parsed.pull_request,
          installationId: parsed.installation?.id ?? null,
          deliveryId: context.id,
          log: context.log,
        },
        state,
        deps,
      );
    };

    app.on(
      PULL_REQUEST_ACTIONS.map((a) => `pull_request.${a}` as const),
      fromPullRequestPayload,
    );
    app.on(
      REVIEW_ACTIONS.map((a) => `pull_request_review.${a}` as const),
      fromPullRequestPayload,
    );

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
      const where = {
        owner,
        repo,
        fullName: event.repository.full_name,
        htmlUrl: event.repository.html_url,
        sha: run.head_sha,
        installationId: event.installation?.id ?? null,
      };
      let numbers = run.pull_requests.map((p) => p.number);
      if (numbers.length === 0) {
        // Forks leave pull_requests empty: find the PRs by their head commit.
        try {
          const { data } = await context.octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: run.head_sha });
          numbers = data.filter((p) => p.head.sha === run.head_sha && p.state === "open").map((p) => p.number);
        } catch (error) {
          return failClosed(
            context,
            { ...where, pr: 0 },
            { code: "github_failure", params: { detail: describeGitHubError(error) } },
            "could not find the PRs of this commit to evaluate again",
          );
        }
      }
      for (const number of numbers) {
        let pr: PullRequest;
        try {
          const { data } = await context.octokit.rest.pulls.get({ owner, repo, pull_number: number });
          pr = parsePayload(PullRequestSchema, "pulls.get", data);
        } catch (error) {
          const why = error instanceof PayloadError ? error.message : describeGitHubError(error);
          await failClosed(
            context,
            { ...where, pr: number },
            { code: "github_failure", params: { detail: why } },
            `could not read PR #${number} to evaluate it again`,
          );
          continue;
        }
        if (pr.state !== "open") continue;
        await governPullRequest(
          {
            octokit: context.octokit,
            repository: event.repository,
            pr,
            installationId: event.installation?.id ?? null,
            deliveryId: context.id,
            log: context.log,
          },
          state,
          deps,
        );
      }
    });

    // A merge queue asks for the required checks of a group commit: the strictest decision of the PRs in it.
    app.on("merge_group.checks_requested", async (context) => {
      try {
        await governMergeGroup(
          {
            octokit: context.octokit,
            installationId: (context.payload as { installation?: { id?: number } }).installation?.id ?? null,
            deliveryId: context.id,
            log: context.log,
          },
          context.payload,
          state,
          deps,
        );
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        const p = context.payload as {
          repository?: { owner?: { login?: string }; name?: string; full_name?: string };
          merge_group?: { head_sha?: string };
          installation?: { id?: number };
        };
        await failClosed(
          context,
          {
            owner: p.repository?.owner?.login,
            repo: p.repository?.name,
            fullName: p.repository?.full_name,
            sha: p.merge_group?.head_sha,
            pr: 0,
            installationId: p.installation?.id ?? null,
          },
          { code: "unreadable_payload", params: {} },
          error.message,
        );
      }
    });

    // A workflow job: its minutes when finished, for compute budgets (workflow-jobs.ts); runaway runs (sessions.ts).
    app.on(["workflow_job.in_progress", "workflow_job.completed"], async (context) => {
      try {
        if (context.payload.action === "completed") await recordWorkflowJob(context.payload, context.id, deps);
        await watchSession({ octokit: context.octokit, payload: context.payload, deliveryId: context.id, log: context.log }, state, sessions, deps);
      } catch (error) {
        if (!(error instanceof PayloadError)) throw error;
        // No PR or commit to fail: the unreadable job is logged, and its minutes are not counted.
        context.log.error({ err: error }, "unreadable workflow_job payload: its minutes are not counted");
      }
    });

    /**
     * A `/governance <command> <reason>` comment on a PR, read once for every command: the reason (null when the
     * comment is not this command), the PR as it is now, who wrote it. An unreadable payload fails closed as elsewhere.
     */
    async function commandComment(context: Context<"issue_comment.created">, parse: (body: string) => string | null) {
      const body = (context.payload as { comment?: { body?: unknown } }).comment?.body;
      const reason = typeof body === "string" ? parse(body) : null;
      if (reason === null) return null;
      let event;
      let repository: Repository;
      try {
        event = parsePayload(ReleaseCommentSchema, "issue_comment", context.payload);
        repository = parsePayload(RepositorySchema, "issue_comment.repository", (context.payload as { repository?: unknown }).repository);
      } catch (error) {
        await reportBadPayload(context, error);
        return null;
      }
      if (!event.issue.pull_request) return null; // an issue, not a PR
      const { data } = await context.octokit.rest.pulls.get({ owner: repository.owner.login, repo: repository.name, pull_number: event.issue.number });
      const pr = parsePayload(PullRequestSchema, "pulls.get", data);
      const by = { login: event.comment.user.login, type: event.comment.user.type };
      return { reason, repository, pr, by, installationId: event.installation?.id ?? null, owner: repository.owner.login, repo: repository.name };
    }

    // `/governance release <reason>` on a PR: an owner ends its sticky agent identity; anyone else is told why not.
    app.on("issue_comment.created", async (context) => {
      const c = await commandComment(context, releaseCommand);
      if (!c) return;
      const { reason, repository, pr, by, installationId, owner, repo } = c;
      const outcome = await releasePullRequest(context.octokit, state, deps, { repository, pr, by, reason, installationId, deliveryId: context.id });
      const reply = outcome.released
        ? `Released #${pr.number} from agent governance at @${by.login}'s request (audit row ${outcome.auditId}). It is evaluated again now; signals it still carries (author, branch, labels, commits) still make it an agent's PR.`
        : `Not released: ${outcome.why}`;
      await context.octokit.rest.issues.createComment({ owner, repo, issue_number: pr.number, body: reply });
      if (outcome.released && pr.state === "open") {
        await governPullRequest({ octokit: context.octokit, repository, pr, installationId, deliveryId: context.id, log: context.log }, state, deps);
      }
    });

    // `/governance override <reason>`: break glass, by a person the policy's `overrides` names (override.ts decides who).
    app.on("issue_comment.created", async (context) => {
      const c = await commandComment(context, overrideCommand);
      if (!c || c.pr.state !== "open") return;
      const { reason, repository, pr, by, installationId, owner, repo } = c;
      const outcome = await overridePullRequest(
        {
          octokit: context.octokit,
          repository,
          pr,
          installationId,
          deliveryId: context.id,
          log: context.log,
          by,
          reason,
        },
        state,
        deps,
      );
      await context.octokit.rest.issues.createComment({ owner, repo, issue_number: pr.number, body: overrideReply(outcome, pr.number) });
    });

    // A push that changes a policy: the open PRs it governs go on the re-evaluation schedule, due now.
    app.on("push", async (context) => {
      const push = policyPushOf(context.payload);
      if (!push) return;
      const installationId = (context.payload as { installation?: { id?: number } }).installation?.id ?? null;
      const n = await scheduleAfterPolicyPush(context.octokit, deps, push, installationId, context.log);
      context.log.info({ ...push, prs: n }, "a policy changed: open PRs scheduled for re-evaluation");
    });

    // The check run's Override button: it carries no reason, so the answer is how to comment, and who may.
    app.on("check_run.requested_action", async (context) => {
      let event;
      let repository: Repository;
      try {
        event = parsePayload(RequestedActionSchema, "check_run", context.payload);
        repository = parsePayload(RepositorySchema, "check_run.repository", (context.payload as { repository?: unknown }).repository);
      } catch (error) {
        return reportBadPayload(context, error);
      }
      if (event.check_run.app?.id !== deps.appId || event.requested_action.identifier !== OVERRIDE_ACTION.identifier) return;
      const owner = repository.owner.login;
      const repo = repository.name;
      for (const { number } of event.check_run.pull_requests) {
        const { data } = await context.octokit.rest.pulls.get({ owner, repo, pull_number: number });
        const pr = parsePayload(PullRequestSchema, "pulls.get", data);
        const policies = await readPolicies(
          context.octokit,
          { owner, repo, baseSha: await baseBranchHead(context.octokit, pr, { owner, repo }) },
          state.policyTexts,
          () => deps.now().getTime(),
        );
        const compiled = compiledPolicies(
          { ...(policies.org ? { org: policies.org } : {}), ...(policies.repo ? { repo: policies.repo } : {}) },
          state.compiled,
        );
        await context.octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: number,
          body: overrideInstructions(compiled.ok ? compiled.policy.overrides : {}),
        });
      }
    });

    /**
     * What cannot be evaluated still ends in the audit trail and, when the commit is known, in a failing check: an
     * error is never silence. Reporting errors propagate, so the delivery is retried.
     */
    async function failClosed(
      context: Context,
      where: { owner?: string; repo?: string; fullName?: string; htmlUrl?: string; sha?: string; pr: number; installationId: number | null },
      cause: Coded,
      message: string,
    ): Promise<void> {
      context.log.error({ pr: where.pr, cause: cause.code }, `${message}: ${causeTitle(cause)}`);
      const sha = where.sha && /^[0-9a-f]{40}$/.test(where.sha) ? where.sha : undefined;
      const decision = errorDecision(cause, [{ message: `${message}. Governor fails closed; use Re-run on this check to try again.` }], sha ?? "");
      const row = await deps.audit.record({
        recorded_at: deps.now().toISOString(),
        delivery_id: context.id,
        installation_id: where.installationId,
        repo: where.fullName ?? "unknown",
        pr: where.pr,
        head_sha: sha ?? "",
        base_sha: "",
        agent: null,
        outcome: "error",
        decision,
        input: null,
        input_missing_reason: `${message}: ${causeTitle(cause)}`,
      });
      if (!where.owner || !where.repo || !sha) return;
      const target = { owner: where.owner, repo: where.repo, headSha: sha };
      const htmlBase = where.htmlUrl ? new URL(where.htmlUrl).origin : "https://github.com";
      const id = await state.startCheck(context.octokit, target, deps.appId);
      // Like every check: reported under the commit's lock, with its audit anchor for `governor audit verify --expect`.
      await state.exclusive(checkRunKey(target), () =>
        state.report(context.octokit, target, id, deps.appId, decision, checkSummary(decision, { htmlBase, auditId: row.id, auditHash: row.hash }), undefined),
      );
    }

    /** A payload Governor cannot read: fail the check when the commit can be named, and always log it. */
    async function reportBadPayload(context: Context, error: unknown): Promise<void> {
      if (!(error instanceof PayloadError)) throw error;
      const p = context.payload as {
        repository?: { owner?: { login?: string }; name?: string; full_name?: string };
        pull_request?: { head?: { sha?: string }; number?: number };
        installation?: { id?: number };
      };
      await failClosed(
        context,
        {
          owner: p.repository?.owner?.login,
          repo: p.repository?.name,
          fullName: p.repository?.full_name,
          sha: p.pull_request?.head?.sha,
          pr: p.pull_request?.number ?? 0,
          installationId: p.installation?.id ?? null,
        },
        { code: "unreadable_payload", params: {} },
        error.message,
      );
    }
  };
}
