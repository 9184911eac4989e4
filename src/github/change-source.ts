// The app's change source: what the evaluator needs (src/policy/needs.ts), read from GitHub lazily and once each; the
// loop that asks for it is the seam every source shares (src/change/gather.ts).
import type { ChangeSource } from "../policy/needs.js";
import { listCommitSignals, listFiles, listReviews, reviewersInTeams } from "./change-builder.js";
import type { PullRequest } from "./payload.js";
import type { Octokit } from "./ports.js";
import type { Snapshot } from "./snapshot.js";

/**
 * GitHub as a change source: the PR's one GraphQL query answers what it can; REST what it cannot (renamed files, lists
 * past one page, team memberships). `wait` is called before any further read, so the check turns pending first.
 */
export function gitHubSource(
  octokit: Octokit,
  target: { owner: string; repo: string },
  pr: PullRequest,
  snap: Snapshot,
  wait: () => Promise<void>,
): ChangeSource {
  const orRead = async <T>(have: T | null, read: () => Promise<T>): Promise<T> => {
    if (have !== null) return have;
    await wait();
    return read();
  };
  return {
    commits: () => orRead(snap.commits, () => listCommitSignals(octokit, target.owner, target.repo, pr)),
    files: () => orRead(snap.files, () => listFiles(octokit, target.owner, target.repo, pr.number)),
    reviews: () => orRead(snap.reviews, () => listReviews(octokit, target.owner, target.repo, pr.number)),
    teamMembers: (teams, logins) => reviewersInTeams(octokit, teams, logins, wait),
  };
}
