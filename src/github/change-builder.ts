// Turns a PR on GitHub into the evaluator's `Change`: files, reviews, commit authors and team members.
import type { ChangedFile, ChangeInput, Review } from "../policy/change.js";
import { GITHUB_FILE_LIST_LIMIT } from "../policy/evaluate.js";
import type { PullRequest, Repository } from "./payload.js";
import type { Octokit } from "./ports.js";

const PER_PAGE = 100;
/** GitHub lists at most 250 commits for a PR. */
const MAX_COMMITS = 250;
const CO_AUTHOR = /^co-authored-by:.*<([^>]+)>\s*$/gim;

const STATUS: Record<string, ChangedFile["status"]> = {
  added: "added",
  removed: "removed",
  modified: "modified",
  renamed: "renamed",
  copied: "copied",
  changed: "changed",
  unchanged: "unchanged",
};

export async function listFiles(octokit: Octokit, owner: string, repo: string, pullNumber: number): Promise<ChangedFile[]> {
  const files: ChangedFile[] = [];
  for await (const page of octokit.paginate.iterator(octokit.rest.pulls.listFiles, { owner, repo, pull_number: pullNumber, per_page: PER_PAGE })) {
    for (const f of page.data) {
      files.push({
        path: f.filename,
        ...(f.previous_filename ? { previous_path: f.previous_filename } : {}),
        status: STATUS[f.status] ?? "modified",
        additions: f.additions,
        deletions: f.deletions,
      });
    }
    if (files.length >= GITHUB_FILE_LIST_LIMIT) break;
  }
  return files;
}

export async function listReviews(octokit: Octokit, owner: string, repo: string, pullNumber: number): Promise<Review[]> {
  const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo, pull_number: pullNumber, per_page: PER_PAGE });
  return reviews
    .filter((r) => r.user)
    .map((r) => ({
      id: r.id,
      user: { login: r.user!.login, type: r.user!.type ?? "User" },
      state: (["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"].includes(r.state) ? r.state : "COMMENTED") as Review["state"],
      commit_id: r.commit_id ?? null,
      submitted_at: r.submitted_at ?? null,
    }));
}

export class IncompleteCommitsError extends Error {
  override name = "IncompleteCommitsError";
}

type ListedCommit = {
  author?: { login?: string } | null;
  committer?: { login?: string } | null;
  commit: { message: string; author?: { email?: string } | null; committer?: { email?: string } | null };
};

/**
 * What the PR's commits say about who made it: commit author logins and e-mails with co-author trailer e-mails (how
 * agents that open PRs as a human are recognised), and the contributors' logins (authors and committers, who cannot
 * approve). The PR commits API lists at most 250; beyond that the compare API is paged through, and a list that still
 * falls short of the PR's count fails closed.
 */
export async function listCommitSignals(
  octokit: Octokit,
  owner: string,
  repo: string,
  pr: { number: number; base: { sha: string }; head: { sha: string }; commits?: number | undefined },
): Promise<{ authors: string[]; contributors: string[] }> {
  const authors = new Set<string>();
  const contributors = new Set<string>();
  const take = (c: ListedCommit) => {
    for (const login of [c.author?.login, c.committer?.login])
      if (login) {
        authors.add(login);
        contributors.add(login);
      }
    if (c.commit.author?.email) authors.add(c.commit.author.email);
    for (const m of c.commit.message.matchAll(CO_AUTHOR)) if (m[1]) authors.add(m[1]);
  };
  let seen = 0;
  if ((pr.commits ?? 0) < MAX_COMMITS) {
    for await (const page of octokit.paginate.iterator(octokit.rest.pulls.listCommits, { owner, repo, pull_number: pr.number, per_page: PER_PAGE })) {
      for (const c of page.data) take(c);
      seen += page.data.length;
      if (seen >= MAX_COMMITS) break;
    }
  }
  if (seen >= MAX_COMMITS || (pr.commits ?? 0) >= MAX_COMMITS) {
    // The commits API stops at 250: page through the comparison of base and head instead, every commit of it.
    let total = Infinity;
    let listed = 0;
    for (let page = 1; listed < total; page++) {
      const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
        owner,
        repo,
        basehead: `${pr.base.sha}...${pr.head.sha}`,
        per_page: PER_PAGE,
        page,
      });
      total = data.total_commits;
      for (const c of data.commits) take(c);
      listed += data.commits.length;
      if (data.commits.length === 0) break;
    }
    if (listed < total || listed < (pr.commits ?? 0)) {
      throw new IncompleteCommitsError(
        `GitHub lists ${Math.max(total, pr.commits ?? 0)} commits for this PR but returned only ${listed}, so Governor cannot see who made all of them`,
      );
    }
  }
  return { authors: [...authors].sort(), contributors: [...contributors].sort() };
}

/** Members of `org/slug`, or an empty list when the team does not exist or cannot be read (nobody from it can approve). */
export async function listTeamMembers(octokit: Octokit, team: string): Promise<string[]> {
  const [org, slug] = team.split("/");
  if (!org || !slug) return [];
  try {
    const members = await octokit.paginate(octokit.rest.teams.listMembersInOrg, { org, team_slug: slug, per_page: PER_PAGE });
    return members.map((m) => m.login).sort();
  } catch (error) {
    if ((error as { status?: number }).status === 404) return [];
    throw error;
  }
}

/**
 * Which of `logins` are active members of each `org/slug` team: one membership lookup per reviewer and team, rather
 * than every member of every team (a gate only asks whether a reviewer is in it). A 404 is "not a member" (or no such
 * team: nobody from it can approve); a pending invitation is not membership; any other error fails the evaluation.
 * More than one lookup makes the evaluation wait on GitHub, so `wait` is called first.
 */
export async function reviewersInTeams(
  octokit: Octokit,
  teams: readonly string[],
  logins: readonly string[],
  wait: () => Promise<void>,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const lookups = [...new Set(teams)].sort().flatMap((team) => logins.map((login) => ({ team, login })));
  if (lookups.length > 1) await wait();
  for (const team of [...new Set(teams)].sort()) out[team] = [];
  for (const { team, login } of lookups) {
    const [org, slug] = team.split("/");
    if (!org || !slug) continue;
    try {
      const { data } = await octokit.rest.teams.getMembershipForUserInOrg({ org, team_slug: slug, username: login });
      if (data.state === "active") out[team]!.push(login);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  for (const team of Object.keys(out)) out[team]!.sort();
  return out;
}

/** The change as the payload alone describes it; files, reviews and the rest are filled in by the caller. */
export function changeFromPayload(repository: Repository, pr: PullRequest): ChangeInput {
  return {
    repo: { owner: repository.owner.login, name: repository.name },
    number: pr.number,
    author: { login: pr.user.login, type: pr.user.type },
    head_branch: pr.head.ref,
    base_branch: pr.base.ref,
    head_sha: pr.head.sha,
    base_sha: pr.base.sha,
    draft: pr.draft,
    ...(pr.created_at ? { created_at: pr.created_at } : {}),
    labels: pr.labels.map((l) => l.name).sort(),
    files: [],
    ...(pr.changed_files !== undefined ? { total_files: pr.changed_files } : {}),
  };
}
