// Reports a decision on the PR: the `governance` check run (with annotations), the outcome label, and reviewers.
import type { Decision } from "../policy/decision.js";
import { Lru } from "../util/lru.js";
import { isTransient } from "./octokit.js";
import type { CheckRunLedger, Octokit, OpenRuns } from "./ports.js";
import { conclusionOf } from "./summary.js";
import { decisionTitle, ruleReason } from "../report/phrases.js";

export const CHECK_NAME = "governance";
const ANNOTATIONS_PER_REQUEST = 50;
const MAX_ANNOTATIONS = 500;
const MAX_REVIEWERS_PER_REQUEST = 15;

export interface Target {
  owner: string;
  repo: string;
  headSha: string;
}

/**
 * The ledger kept in this process only. It cannot know what an earlier process left open, so a commit it has not
 * seen is `unknown`: GitHub is asked once which runs of ours are still in progress there.
 */
export class MemoryCheckRunLedger implements CheckRunLedger {
  private readonly rows = new Map<number, { key: string; id: number | null; closed: boolean }>();
  private readonly seen = new Lru<string, true>(10_000);
  private next = 1;
  async open(key: string): Promise<OpenRuns> {
    const rows = [...this.rows.values()].filter((r) => r.key === key && !r.closed);
    return { ids: rows.flatMap((r) => (r.id === null ? [] : [r.id])), unknown: !this.seen.get(key) || rows.some((r) => r.id === null) };
  }
  async intend(key: string): Promise<number> {
    if (this.rows.size > 10_000) for (const [token, row] of this.rows) if (row.closed) this.rows.delete(token);
    this.rows.set(this.next, { key, id: null, closed: false });
    return this.next++;
  }
  async started(token: number, id: number): Promise<void> {
    const row = this.rows.get(token);
    if (row) row.id = id;
  }
  async closed(key: string, id: number): Promise<void> {
    for (const row of this.rows.values()) if (row.key === key && row.id === id) row.closed = true;
  }
  async resolved(key: string): Promise<void> {
    this.seen.set(key, true);
    for (const row of this.rows.values()) if (row.key === key && row.id === null) row.closed = true;
  }
}

export const checkRunKey = (t: Target) => `${t.owner}/${t.repo}@${t.headSha}`;

/** Our `governance` runs on the commit that are not completed. */
async function inProgressRuns(octokit: Octokit, t: Target, appId: number): Promise<number[]> {
  const { data } = await octokit.rest.checks.listForRef({ owner: t.owner, repo: t.repo, ref: t.headSha, check_name: CHECK_NAME, filter: "all", per_page: 100 });
  return data.check_runs.filter((run) => run.app?.id === appId && run.status !== "completed").map((run) => run.id);
}

/**
 * A new `in_progress` run for this evaluation. GitHub does not let a completed run change its conclusion, so each
 * evaluation reports on a run of its own, and GitHub shows the newest. The create is never repeated blindly: when its
 * answer is lost, an in-progress run of ours that nobody here owns is taken instead of making a second one.
 */
export async function createCheck(
  octokit: Octokit,
  t: Target,
  ledger: CheckRunLedger,
  appId: number,
  owned: ReadonlySet<number>,
  detailsUrl?: string,
): Promise<number> {
  const token = await ledger.intend(checkRunKey(t));
  const create = async () =>
    (
      await octokit.rest.checks.create({
        owner: t.owner,
        repo: t.repo,
        name: CHECK_NAME,
        head_sha: t.headSha,
        status: "in_progress",
        started_at: new Date().toISOString(),
        ...(detailsUrl ? { details_url: detailsUrl } : {}),
      })
    ).data.id;
  let id: number;
  try {
    id = await create();
  } catch (error) {
    if (!isTransient(error)) throw error;
    id = (await inProgressRuns(octokit, t, appId)).filter((run) => !owned.has(run)).sort((a, b) => b - a)[0] ?? (await create());
  }
  await ledger.started(token, id);
  return id;
}

/**
 * Closes the runs of this commit that earlier evaluations left in progress (a crash, a lost answer), so none spins
 * forever; runs still being evaluated in this process (`owned`) are left to finish.
 */
export async function closeAbandoned(
  octokit: Octokit,
  t: Target,
  ledger: CheckRunLedger,
  appId: number,
  before: OpenRuns,
  owned: ReadonlySet<number>,
): Promise<void> {
  const key = checkRunKey(t);
  let ids = before.ids;
  // Another replica's start without an id yet could be any in-progress run GitHub lists: the listing is not used then.
  if (before.unknown && !before.pendingElsewhere) {
    ids = [...new Set([...ids, ...(await inProgressRuns(octokit, t, appId))])];
    await ledger.resolved(key);
  }
  const held = new Set(before.heldElsewhere ?? []);
  for (const id of ids.filter((run) => !owned.has(run) && !held.has(run))) {
    try {
      await octokit.rest.checks.update({
        owner: t.owner,
        repo: t.repo,
        check_run_id: id,
        status: "completed",
        conclusion: "cancelled",
        completed_at: new Date().toISOString(),
        output: {
          title: "Superseded by a newer evaluation",
          summary:
            "This evaluation did not finish (a restart or a lost answer from GitHub). A newer run of the `governance` check on this commit carries the decision.",
        },
      });
    } catch (error) {
      // Already completed (422) is what was wanted; anything else is left for the next evaluation of this commit.
      if ((error as { status?: number }).status !== 422) continue;
    }
    await ledger.closed(key, id);
  }
}

interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "failure" | "warning" | "notice";
  title: string;
  message: string;
}

/** Denied files as failures; files waiting for an approval as warnings. Capped, and the cap is said in the summary. */
export function annotationsFor(decision: Decision): { annotations: Annotation[]; omitted: number } {
  const all: Annotation[] = [];
  for (const rule of decision.rules) {
    if (rule.action === "allow" || (rule.gate && rule.gate.met)) continue;
    for (const path of rule.files) {
      all.push({
        path,
        start_line: 1,
        end_line: 1,
        annotation_level: rule.action === "deny" ? "failure" : "warning",
        title: `${rule.id}: ${rule.action === "deny" ? "denied" : "needs approval"}`,
        message: ruleReason(rule, decision) ?? (rule.action === "deny" ? "Denied by policy." : "Needs an approval."),
      });
    }
  }
  return { annotations: all.slice(0, MAX_ANNOTATIONS), omitted: Math.max(0, all.length - MAX_ANNOTATIONS) };
}

/** A run created completed in one call: the decision was ready before any run was needed. Returns its id. */
export async function createCompletedCheck(
  octokit: Octokit,
  t: Target,
  decision: Decision,
  summary: string,
  detailsUrl: string | undefined,
  actions?: ReadonlyArray<{ label: string; description: string; identifier: string }>,
): Promise<number> {
  const { batches, output } = checkOutput(decision, summary);
  const now = new Date().toISOString();
  const { data } = await octokit.rest.checks.create({
    owner: t.owner,
    repo: t.repo,
    name: CHECK_NAME,
    head_sha: t.headSha,
    status: "completed",
    conclusion: conclusionOf(decision),
    started_at: now,
    completed_at: now,
    ...(detailsUrl ? { details_url: detailsUrl } : {}),
    output: output(batches[0]),
    ...(actions ? { actions: [...actions] } : {}),
  });
  // Annotations beyond the first 50 go in further updates; GitHub appends them.
  for (const batch of batches.slice(1)) await octokit.rest.checks.update({ owner: t.owner, repo: t.repo, check_run_id: data.id, output: output(batch) });
  return data.id;
}

/** The check's output, in batches of annotations GitHub takes per request. */
function checkOutput(decision: Decision, summary: string) {
  const { annotations, omitted } = annotationsFor(decision);
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  const text = omitted > 0 ? `${omitted} more files are affected than are annotated; see the summary and the audit trail.` : undefined;
  const output = (batch: Annotation[] | undefined) => ({
    title: decisionTitle(decision),
    summary,
    ...(text ? { text } : {}),
    ...(batch?.length ? { annotations: batch } : {}),
  });
  return { batches, output };
}

export async function completeCheck(
  octokit: Octokit,
  t: Target,
  checkRunId: number,
  decision: Decision,
  summary: string,
  detailsUrl: string | undefined,
  actions?: ReadonlyArray<{ label: string; description: string; identifier: string }>,
): Promise<void> {
  const { batches, output } = checkOutput(decision, summary);
  // Annotations beyond the first 50 go in further updates; GitHub appends them.
  for (const batch of batches.slice(1)) {
    await octokit.rest.checks.update({ owner: t.owner, repo: t.repo, check_run_id: checkRunId, output: output(batch) });
  }
  await octokit.rest.checks.update({
    owner: t.owner,
    repo: t.repo,
    check_run_id: checkRunId,
    status: "completed",
    conclusion: conclusionOf(decision),
    completed_at: new Date().toISOString(),
    ...(detailsUrl ? { details_url: detailsUrl } : {}),
    output: output(batches[0]),
    ...(actions ? { actions: [...actions] } : {}),
  });
}

/**
 * Exactly one outcome label; calls GitHub only for what changes. Adding a label the repository lacks creates it (GitHub
 * does, in the same call), so no label is created first. Returns the calls made, for the record.
 */
export async function syncLabels(
  octokit: Octokit,
  t: Target & { number: number },
  current: readonly string[],
  labels: { allowed: string; needs_approval: string; denied: string },
  outcome: Decision["outcome"],
): Promise<{ added: string[]; removed: string[] }> {
  const wantedKey =
    outcome === "allowed" ? "allowed" : outcome === "needs_approval" ? "needs_approval" : outcome === "denied" || outcome === "error" ? "denied" : null;
  const wanted = wantedKey ? labels[wantedKey] : null;
  const ours = new Set(Object.values(labels));
  const removed = current.filter((l) => ours.has(l) && l !== wanted);
  const added = wanted && !current.includes(wanted) ? [wanted] : [];
  for (const name of removed) {
    try {
      await octokit.rest.issues.removeLabel({ owner: t.owner, repo: t.repo, issue_number: t.number, name });
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error; // already gone
    }
  }
  if (added.length) await octokit.rest.issues.addLabels({ owner: t.owner, repo: t.repo, issue_number: t.number, labels: added });
  return { added, removed };
}

/**
 * Requests the reviewers of unmet gates: eligible users and the teams themselves, never the author, bots or agents,
 * nobody already requested or who already reviewed, at most 15 in one request.
 */
export function reviewersToRequest(
  decision: Decision,
  pr: { author: string; org: string; requestedUsers: readonly string[]; requestedTeams: readonly string[]; reviewed: readonly string[] },
  isAutomated: (login: string) => boolean,
): { reviewers: string[]; team_reviewers: string[] } {
  const lower = (s: string) => s.toLowerCase();
  const skipUsers = new Set([pr.author, ...pr.requestedUsers, ...pr.reviewed].map(lower));
  const skipTeams = new Set(pr.requestedTeams.map(lower));
  const reviewers = new Set<string>();
  const teams = new Set<string>();
  for (const rule of decision.rules) {
    if (!rule.gate || rule.gate.met) continue;
    for (const user of rule.gate.approvers.users) if (!skipUsers.has(lower(user)) && !isAutomated(user)) reviewers.add(user);
    for (const team of rule.gate.approvers.teams) {
      const [org, slug] = team.split("/");
      if (org && slug && lower(org) === lower(pr.org) && !skipTeams.has(lower(slug))) teams.add(slug);
    }
  }
  const users = [...reviewers].sort().slice(0, MAX_REVIEWERS_PER_REQUEST);
  const teamList = [...teams].sort().slice(0, MAX_REVIEWERS_PER_REQUEST - users.length);
  return { reviewers: users, team_reviewers: teamList };
}
