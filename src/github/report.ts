// Reports a decision on the PR: the `governance` check run (with annotations), the outcome label, and reviewers.
import type { Decision } from "../policy/decision.js";
import { isTransient } from "./octokit.js";
import type { CheckRunLedger, Octokit } from "./ports.js";
import { CONCLUSION } from "./summary.js";

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
 * Check run ids kept in this process only. It cannot know what an earlier process created, so an unknown commit is
 * "ask": look on GitHub before creating.
 */
export class MemoryCheckRunLedger implements CheckRunLedger {
  private readonly ids = new Map<string, number>();
  lookup(key: string): number | "ask" {
    return this.ids.get(key) ?? "ask";
  }
  intend(): void {}
  record(key: string, id: number): void {
    this.ids.set(key, id);
    if (this.ids.size > 10_000) this.ids.delete(this.ids.keys().next().value as string);
  }
}

export const checkRunKey = (t: Target) => `${t.owner}/${t.repo}@${t.headSha}`;

/**
 * The check run for this SHA: the one Governor already has, or a new one `in_progress`. When the ledger cannot rule
 * out an earlier run (a restart, a crash mid-create), GitHub is asked first, so no second, forever in-progress check
 * is ever left behind.
 */
export async function startCheck(octokit: Octokit, t: Target, ledger: CheckRunLedger, appId: number, detailsUrl?: string): Promise<number> {
  const key = checkRunKey(t);
  const known = ledger.lookup(key);
  if (typeof known === "number") return known;
  const existing = async () => {
    const { data } = await octokit.rest.checks.listForRef({ owner: t.owner, repo: t.repo, ref: t.headSha, check_name: CHECK_NAME, filter: "latest", per_page: 20 });
    const ours = data.check_runs.find((run) => run.app?.id === appId)?.id;
    if (ours !== undefined) ledger.record(key, ours);
    return ours;
  };
  const create = async () => {
    const { data } = await octokit.rest.checks.create({
      owner: t.owner, repo: t.repo, name: CHECK_NAME, head_sha: t.headSha, status: "in_progress",
      started_at: new Date().toISOString(), ...(detailsUrl ? { details_url: detailsUrl } : {}),
    });
    ledger.record(key, data.id);
    return data.id;
  };
  if (known === "ask") {
    const found = await existing();
    if (found !== undefined) return found;
  }
  ledger.intend(key);
  try {
    return await create();
  } catch (error) {
    // The create is not retried by the client (GitHub may have made the run before its answer was lost): look first.
    if (!isTransient(error)) throw error;
    return (await existing()) ?? (await create());
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
        path, start_line: 1, end_line: 1,
        annotation_level: rule.action === "deny" ? "failure" : "warning",
        title: `${rule.id}: ${rule.action === "deny" ? "denied" : "needs approval"}`,
        message: rule.reason ?? (rule.action === "deny" ? "Denied by policy." : "Needs an approval."),
      });
    }
  }
  return { annotations: all.slice(0, MAX_ANNOTATIONS), omitted: Math.max(0, all.length - MAX_ANNOTATIONS) };
}

export async function completeCheck(
  octokit: Octokit, t: Target, checkRunId: number, decision: Decision, summary: string, detailsUrl: string | undefined,
): Promise<void> {
  const { annotations, omitted } = annotationsFor(decision);
  const batches: Annotation[][] = [];
  for (let i = 0; i < annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
  const text = omitted > 0 ? `${omitted} more files are affected than are annotated; see the summary and the audit trail.` : undefined;
  const output = (batch: Annotation[] | undefined) => ({
    title: decision.title, summary, ...(text ? { text } : {}), ...(batch?.length ? { annotations: batch } : {}),
  });
  // Annotations beyond the first 50 go in further updates; GitHub appends them.
  for (const batch of batches.slice(1)) {
    await octokit.rest.checks.update({ owner: t.owner, repo: t.repo, check_run_id: checkRunId, output: output(batch) });
  }
  await octokit.rest.checks.update({
    owner: t.owner, repo: t.repo, check_run_id: checkRunId, status: "completed", conclusion: CONCLUSION[decision.outcome],
    completed_at: new Date().toISOString(), ...(detailsUrl ? { details_url: detailsUrl } : {}), output: output(batches[0]),
  });
}

export const LABEL_COLOURS = { allowed: "2da44e", needs_approval: "d4a72c", denied: "cf222e" } as const;

/** Exactly one outcome label; calls GitHub only for what changes. Returns the calls made, for the record. */
export async function syncLabels(
  octokit: Octokit, t: Target & { number: number }, current: readonly string[],
  labels: { allowed: string; needs_approval: string; denied: string }, outcome: Decision["outcome"], created: Set<string>,
): Promise<{ added: string[]; removed: string[] }> {
  const wantedKey = outcome === "allowed" ? "allowed" : outcome === "needs_approval" ? "needs_approval" : outcome === "denied" || outcome === "error" ? "denied" : null;
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
  if (added.length && wantedKey) {
    const name = added[0]!;
    const cacheKey = `${t.owner}/${t.repo}:${name}`;
    if (!created.has(cacheKey)) {
      try {
        await octokit.rest.issues.createLabel({ owner: t.owner, repo: t.repo, name, color: LABEL_COLOURS[wantedKey], description: "Set by Governor from the repository's .governance.yml" });
      } catch (error) {
        if ((error as { status?: number }).status !== 422) throw error; // already exists
      }
      created.add(cacheKey);
    }
    await octokit.rest.issues.addLabels({ owner: t.owner, repo: t.repo, issue_number: t.number, labels: added });
  }
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
