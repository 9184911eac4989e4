// Webhook deliveries as GitHub makes them: payloads built on GitHub's own examples, HMAC-signed, POSTed.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";
import { renderPull } from "./server.js";
import type { SimPull, SimRepo, SimReview } from "./state.js";

type Json = Record<string, unknown>;
type Example = { name: string; examples: Json[] };

let examples: Example[] | undefined;
function template(event: string, action: string): Json {
  // The build writes the examples the simulator uses next to the compiled module; from the sources, the package is read.
  const require = createRequire(import.meta.url);
  try {
    examples ??= require("./webhook-examples.json") as Example[];
  } catch {
    examples ??= require("@octokit/webhooks-examples") as Example[];
  }
  const found = examples.find((e) => e.name === event)?.examples.find((x) => x["action"] === action) ?? examples.find((e) => e.name === event)?.examples[0];
  if (!found) throw new Error(`no example payload for ${event}`);
  return structuredClone(found);
}

export interface Webhook {
  event: string;
  payload: Json;
}

export interface PayloadContext {
  repo: SimRepo;
  installationId: number;
  htmlBase: string;
  apiBase: string;
  sender: { login: string; type: string };
}

function repositoryJson(ctx: PayloadContext, base: Json): Json {
  const r = ctx.repo;
  return {
    // Fields GitHub's schemas now require that the (older) example payloads predate.
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: "private",
    custom_properties: {},
    ...base,
    id: r.id,
    name: r.name,
    full_name: `${r.owner}/${r.name}`,
    private: true,
    default_branch: r.defaultBranch,
    owner: { ...(base["owner"] as Json), login: r.owner, type: "Organization" },
    html_url: `${ctx.htmlBase}/${r.owner}/${r.name}`,
    url: `${ctx.apiBase}/repos/${r.owner}/${r.name}`,
  };
}

function senderJson(ctx: PayloadContext, base: Json): Json {
  return { ...base, login: ctx.sender.login, type: ctx.sender.type };
}

function pullJson(ctx: PayloadContext, pr: SimPull, base: Json): Json {
  const current = renderPull(pr, ctx.repo, ctx.apiBase);
  const repository = repositoryJson(ctx, base["base"] ? ((base["base"] as Json)["repo"] as Json) : {});
  return {
    auto_merge: null,
    active_lock_reason: null,
    ...base,
    ...current,
    id: pr.number * 1000 + ctx.repo.id,
    node_id: `PR_${pr.number}`,
    user: { ...(base["user"] as Json), login: pr.user.login, type: pr.user.type },
    head: { ...(base["head"] as Json), ref: pr.head.ref, sha: pr.head.sha, label: `${ctx.repo.owner}:${pr.head.ref}`, repo: repository, user: base["user"] },
    base: { ...(base["base"] as Json), ref: pr.base.ref, sha: pr.base.sha, label: `${ctx.repo.owner}:${pr.base.ref}`, repo: repository, user: base["user"] },
    labels: pr.labels.map((name, i) => ({
      id: i + 1,
      node_id: `LA_${i}`,
      url: "",
      name,
      color: ctx.repo.labels.get(name)?.color ?? "ededed",
      default: false,
      description: null,
    })),
    requested_reviewers: pr.requestedUsers.map((login) => ({ ...(base["user"] as Json), login, type: "User" })),
    requested_teams: [],
  };
}

export function pullRequestEvent(ctx: PayloadContext, pr: SimPull, action: string, extra: Json = {}): Webhook {
  const base = template("pull_request", action);
  return {
    event: "pull_request",
    payload: {
      ...base,
      ...extra,
      action,
      number: pr.number,
      pull_request: pullJson(ctx, pr, base["pull_request"] as Json),
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

export function reviewEvent(ctx: PayloadContext, pr: SimPull, review: SimReview, action: "submitted" | "dismissed" | "edited"): Webhook {
  const base = template("pull_request_review", action === "edited" ? "submitted" : action);
  const baseReview = base["review"] as Json;
  return {
    event: "pull_request_review",
    payload: {
      ...base,
      action,
      review: {
        ...baseReview,
        id: review.id,
        user: { ...(baseReview["user"] as Json), login: review.user.login, type: review.user.type },
        state: review.state.toLowerCase(),
        commit_id: review.commit_id,
        submitted_at: review.submitted_at,
        body: review.body,
      },
      pull_request: simplePull(pullJson(ctx, pr, base["pull_request"] as Json)),
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

/** Review events carry GitHub's "simple" pull request: no counts of changed files and lines. */
function simplePull(full: Json): Json {
  const {
    additions: _a,
    deletions: _d,
    changed_files: _c,
    commits: _m,
    comments: _o,
    review_comments: _r,
    maintainer_can_modify: _x,
    mergeable: _g,
    mergeable_state: _s,
    merged: _e,
    merged_by: _b,
    rebaseable: _z,
    ...simple
  } = full;
  return simple;
}

export function checkRunRerequested(ctx: PayloadContext, pr: SimPull, checkRunId: number, appId: number): Webhook {
  const base = template("check_run", "rerequested");
  const run = base["check_run"] as Json;
  return {
    event: "check_run",
    payload: {
      ...base,
      action: "rerequested",
      check_run: {
        ...run,
        id: checkRunId,
        name: "governance",
        head_sha: pr.head.sha,
        app: { ...(run["app"] as Json), id: appId },
        pull_requests: [
          {
            id: pr.number,
            number: pr.number,
            url: "",
            head: { ref: pr.head.ref, sha: pr.head.sha, repo: { id: ctx.repo.id, name: ctx.repo.name, url: "" } },
            base: { ref: pr.base.ref, sha: pr.base.sha, repo: { id: ctx.repo.id, name: ctx.repo.name, url: "" } },
          },
        ],
      },
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

/** A comment on a PR's conversation (`issue_comment.created`): the issue carries a `pull_request` link. */
export function issueCommentEvent(ctx: PayloadContext, pr: SimPull, comment: { id: number; body: string; created_at: string }): Webhook {
  const base = template("issue_comment", "created");
  const issue = base["issue"] as Json;
  const baseComment = base["comment"] as Json;
  const user = { ...(baseComment["user"] as Json), login: ctx.sender.login, type: ctx.sender.type };
  return {
    event: "issue_comment",
    payload: {
      ...base,
      action: "created",
      issue: {
        ...issue,
        number: pr.number,
        title: pr.title,
        state: "open",
        user: { ...(issue["user"] as Json), login: pr.user.login, type: pr.user.type },
        pull_request: {
          url: `${ctx.apiBase}/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls/${pr.number}`,
          html_url: `${ctx.htmlBase}/${ctx.repo.owner}/${ctx.repo.name}/pull/${pr.number}`,
          diff_url: "",
          patch_url: "",
          merged_at: null,
        },
      },
      comment: { ...baseComment, id: comment.id, body: comment.body, user, created_at: comment.created_at, updated_at: comment.created_at },
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

/** The check run's action button (`check_run.requested_action`) pressed by `ctx.sender`. */
export function checkRunRequestedAction(ctx: PayloadContext, pr: SimPull, checkRunId: number, appId: number, identifier: string): Webhook {
  const base = checkRunRerequested(ctx, pr, checkRunId, appId);
  return { event: "check_run", payload: { ...base.payload, action: "requested_action", requested_action: { identifier } } };
}

/** A push of one commit to a branch (`push`), naming the files it added, modified and removed. */
export function pushEvent(
  ctx: PayloadContext,
  push: { branch: string; before: string; after: string; added: string[]; modified: string[]; removed: string[] },
): Webhook {
  const base = template("push", "");
  const commit = {
    id: push.after,
    tree_id: push.after,
    distinct: true,
    message: "commit",
    timestamp: new Date().toISOString(),
    url: "",
    author: { name: ctx.sender.login, email: `${ctx.sender.login}@example.com`, username: ctx.sender.login },
    committer: { name: ctx.sender.login, email: `${ctx.sender.login}@example.com`, username: ctx.sender.login },
    added: push.added,
    removed: push.removed,
    modified: push.modified,
  };
  return {
    event: "push",
    payload: {
      ...base,
      ref: `refs/heads/${push.branch}`,
      before: push.before,
      after: push.after,
      created: false,
      deleted: false,
      forced: false,
      base_ref: null,
      commits: [commit],
      head_commit: commit,
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

export interface SentDelivery {
  id: string;
  status: number;
  body: string;
  ms: number;
}

/** POSTs a delivery the way GitHub does: same headers, HMAC-SHA256 signature of the exact body. */
export async function sendWebhook(opts: {
  url: string;
  secret: string;
  webhook: Webhook;
  deliveryId?: string;
  signature?: string | null;
}): Promise<SentDelivery> {
  const id = opts.deliveryId ?? randomUUID();
  const body = JSON.stringify(opts.webhook.payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/sim",
    "x-github-event": opts.webhook.event,
    "x-github-delivery": id,
    "x-github-hook-id": "1",
    "x-github-hook-installation-target-type": "integration",
  };
  const signature = opts.signature === undefined ? await sign(opts.secret, body) : opts.signature;
  if (signature !== null) headers["x-hub-signature-256"] = signature;
  const started = performance.now();
  const res = await fetch(opts.url, { method: "POST", headers, body });
  return { id, status: res.status, body: await res.text(), ms: performance.now() - started };
}

/** `merge_group.checks_requested`: GitHub asks for the required checks of a merge queue's group commit. */
export function mergeGroupEvent(ctx: PayloadContext, group: { headSha: string; headRef: string; baseSha: string; baseRef: string; message: string }): Webhook {
  const base = template("merge_group", "checks_requested");
  const commit = base["merge_group"] ? ((base["merge_group"] as Json)["head_commit"] as Json) : {};
  return {
    event: "merge_group",
    payload: {
      ...base,
      action: "checks_requested",
      merge_group: {
        head_sha: group.headSha,
        head_ref: group.headRef,
        base_sha: group.baseSha,
        base_ref: group.baseRef,
        head_commit: { ...commit, id: group.headSha, tree_id: group.headSha, message: group.message, timestamp: new Date().toISOString() },
      },
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}

/** `workflow_job.completed`: one job of an Actions run (an agent's session, or any workflow) finished. */
export function workflowJobEvent(
  ctx: PayloadContext,
  job: { id: number; runId: number; workflow: string; name: string; branch: string; headSha: string; startedAt: string; completedAt: string | null },
): Webhook {
  const action = job.completedAt === null ? "in_progress" : "completed";
  const base = template("workflow_job", action);
  const example = base["workflow_job"] as Json;
  const api = `${ctx.apiBase}/repos/${ctx.repo.owner}/${ctx.repo.name}`;
  return {
    event: "workflow_job",
    payload: {
      ...base,
      action,
      workflow_job: {
        ...example,
        id: job.id,
        run_id: job.runId,
        run_attempt: 1,
        node_id: `WJ_${job.id}`,
        head_sha: job.headSha,
        head_branch: job.branch,
        workflow_name: job.workflow,
        name: job.name,
        status: action === "completed" ? "completed" : "in_progress",
        conclusion: action === "completed" ? "success" : null,
        created_at: job.startedAt,
        started_at: job.startedAt,
        completed_at: job.completedAt,
        steps: [],
        url: `${api}/actions/jobs/${job.id}`,
        run_url: `${api}/actions/runs/${job.runId}`,
        html_url: `${ctx.htmlBase}/${ctx.repo.owner}/${ctx.repo.name}/actions/runs/${job.runId}/job/${job.id}`,
      },
      repository: repositoryJson(ctx, base["repository"] as Json),
      sender: senderJson(ctx, base["sender"] as Json),
      installation: { id: ctx.installationId, node_id: `IN_${ctx.installationId}` },
    },
  };
}
