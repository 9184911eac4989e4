// The app's change source: what the evaluator needs (src/policy/needs.ts), read from GitHub lazily and once each, and
// the loop that asks the evaluator what it needs next until the input decides.
import type { ChangeInput } from "../policy/change.js";
import type { PolicyCache } from "../policy/decide.js";
import { EvaluationInputSchema, type EvaluationInput, type EvaluationInputInit } from "../policy/input.js";
import { type ChangeSource, type Need, type NeedKind, nextNeed } from "../policy/needs.js";
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

type Usage = EvaluationInputInit["context"]["usage"];

/**
 * Fills `init` with what the evaluator says it needs, asking again after each answer, each need read at most once.
 * `budget` reserves the change's budget places (the server's store, not the source). Returns the complete input and
 * what was read, in order.
 */
export async function gatherChange(
  init: { policies: EvaluationInput["policies"]; change: ChangeInput; context: { now: string; usage: NonNullable<Usage> } },
  source: ChangeSource,
  budget: (need: Extract<Need, { kind: "budget" }>) => Promise<Partial<NonNullable<Usage>>>,
  cache?: PolicyCache,
): Promise<{ input: EvaluationInput; read: NeedKind[] }> {
  const { change, context } = init;
  const read: NeedKind[] = [];
  const parse = () => EvaluationInputSchema.parse({ policies: init.policies, change, context });
  for (let input = parse(), need = nextNeed(input, new Set(read), cache); need; input = parse(), need = nextNeed(input, new Set(read), cache)) {
    if (read.includes(need.kind)) throw new Error(`the evaluator asked twice for ${need.kind}`); // a bug, never a loop
    read.push(need.kind);
    switch (need.kind) {
      case "commits": {
        const signals = await source.commits();
        change.commit_authors = signals.authors;
        change.contributors = signals.contributors;
        break;
      }
      case "files":
        change.files = await source.files();
        break;
      case "budget":
        Object.assign(context.usage, await budget(need));
        break;
      case "reviews":
        change.reviews = await source.reviews();
        break;
      case "team_members":
        change.team_members = await source.teamMembers(need.teams, need.logins);
        break;
    }
  }
  return { input: parse(), read };
}
