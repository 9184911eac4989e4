// A push that changes a policy re-evaluates the open PRs it governs: the repo's PRs into that branch, or, for the org
// policy in the org's `.github` repository, the open PRs of every repository of the installation.
import { ORG_POLICY_PATH, ORG_POLICY_REPO, REPO_POLICY_PATHS } from "../policy/paths.js";
import type { AppDeps, Octokit } from "./ports.js";

/** GitHub lists at most 20 commits in a push payload; beyond that the files changed are not all known. */
const PUSH_COMMITS_LISTED = 20;
/** Bounds on one policy push's fan-out (each PR is one durable schedule row, evaluated by the worker's bounded pool). */
export const MAX_REPOS = 1000;
export const MAX_PRS = 5000;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export interface PolicyPush {
  /** `repo`: the repo policy of `branch` changed; `org`: the org policy changed (every repository of the installation). */
  scope: "repo" | "org";
  repo: string;
  branch: string;
}

/**
 * Whether a push may have changed a policy in force, read from the payload alone. When the payload cannot tell (20
 * commits or more, a forced push, a new branch) it counts as a change: re-evaluating is the safe side.
 */
export function policyPushOf(payload: unknown): PolicyPush | null {
  const body = obj(payload) ?? {};
  const ref = str(body["ref"]) ?? "";
  const repository = obj(body["repository"]);
  const repo = str(repository?.["full_name"]);
  const name = str(repository?.["name"]);
  if (!ref.startsWith("refs/heads/") || !repo || body["deleted"] === true) return null;
  const branch = ref.slice("refs/heads/".length);
  const commits = Array.isArray(body["commits"]) ? (body["commits"] as unknown[]).map(obj) : [];
  const paths = new Set<string>();
  for (const c of commits)
    for (const key of ["added", "modified", "removed"]) for (const p of (c?.[key] as unknown[] | undefined) ?? []) if (typeof p === "string") paths.add(p);
  const unknown = body["forced"] === true || body["created"] === true || commits.length >= PUSH_COMMITS_LISTED;
  const org = name === ORG_POLICY_REPO && branch === str(repository?.["default_branch"]);
  if (org && (unknown || paths.has(ORG_POLICY_PATH))) return { scope: "org", repo, branch };
  if (unknown || REPO_POLICY_PATHS.some((p) => paths.has(p))) return { scope: "repo", repo, branch };
  return null;
}

/**
 * Puts each open PR the push governs on the durable re-evaluation schedule, due now: the server queues them into the
 * inbox like a time window's, where one PR is evaluated at a time and a burst of pushes lands on the same rows.
 */
export async function scheduleAfterPolicyPush(
  octokit: Octokit,
  deps: AppDeps,
  push: PolicyPush,
  installationId: number | null,
  log: { warn: (o: object, m: string) => void },
): Promise<number> {
  if (!deps.audit.scheduleReevaluation) return 0;
  const now = deps.now().toISOString();
  const repos: string[] = push.scope === "repo" ? [push.repo] : [];
  if (push.scope === "org") {
    for await (const page of octokit.paginate.iterator(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 })) {
      for (const r of page.data as unknown as Array<{ full_name: string }>) if (repos.length < MAX_REPOS) repos.push(r.full_name);
      if (repos.length >= MAX_REPOS) {
        log.warn({ repos: repos.length }, "an org policy push re-evaluates at most this many repositories");
        break;
      }
    }
  }
  let scheduled = 0;
  for (const full of repos) {
    const [owner = "", repo = ""] = full.split("/");
    // Into the pushed branch for a repo policy; every base for the org policy (it governs each repository's PRs).
    const base = push.scope === "repo" ? { base: push.branch } : {};
    for await (const page of octokit.paginate.iterator(octokit.rest.pulls.list, { owner, repo, state: "open", per_page: 100, ...base })) {
      for (const pr of page.data) {
        if (scheduled >= MAX_PRS) return scheduled;
        await deps.audit.scheduleReevaluation({ repo: full, pr: pr.number, installationId, dueAt: now });
        scheduled++;
      }
    }
  }
  return scheduled;
}
