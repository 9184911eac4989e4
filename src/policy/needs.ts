// What the evaluator still needs to decide a change, stated as data: a change source (the app's GitHub source, a git
// checkout, an MCP request) reads exactly that, once, and the answer goes into the evaluation input. Pure: no I/O.
import { COMPUTE_KEYS } from "./compile.js";
import { compiledPolicies, decide, type PolicyCache } from "./decide.js";
import type { Decision } from "./decision.js";
import { isAutomatedAccount } from "./agents.js";
import { latestReviews } from "./evaluate.js";
import type { ChangedFile, Review } from "./change.js";
import type { EvaluationInput } from "./input.js";

/**
 * Where a change's parts come from, read lazily and once each: GitHub for the app (src/github/change-source.ts); a git
 * checkout or an MCP request could answer the same calls. Budget places come from the server's store, not a source.
 */
export interface ChangeSource {
  commits(): Promise<{ authors: string[]; contributors: string[] }>;
  files(): Promise<ChangedFile[]>;
  reviews(): Promise<Review[]>;
  /** For each team, which of `logins` are its members. */
  teamMembers(teams: readonly string[], logins: readonly string[]): Promise<Record<string, string[]>>;
}

export type NeedKind = "commits" | "files" | "budget" | "reviews" | "team_members";

export type Need =
  /** Commit authors, co-author trailers and contributors: they can add agents, and contributors cannot approve. */
  | { kind: "commits" }
  /** The changed files: only once the change is governed. */
  | { kind: "files" }
  /** This change's place in each binding agent's budget (and compute minutes when a compute budget is set). */
  | { kind: "budget"; agents: string[]; compute: boolean }
  /** The reviews: only when the decision has an approval gate. */
  | { kind: "reviews" }
  /** Whether these reviewers are in these teams: only teams a gate names, only reviewers whose verdict can count. */
  | { kind: "team_members"; teams: string[]; logins: string[] };

/**
 * The next thing the decision depends on that has not been read (`have`), or null when the input decides as it is.
 * Each answer can change what is needed next (commits can make a change an agent's; files and budget decide whether
 * there is a gate), so a source asks again after each read; every need is asked for at most once.
 */
export function nextNeed(input: EvaluationInput, have: ReadonlySet<NeedKind>, cache?: PolicyCache): Need | null {
  return nextStep(input, have, cache).need;
}

/**
 * nextNeed, and when nothing more is needed, the decision the input makes as it is (the one `decide` gives it), so that
 * a source that has read everything needs no further evaluation.
 */
export function nextStep(
  input: EvaluationInput,
  have: ReadonlySet<NeedKind>,
  cache?: PolicyCache,
): { need: Need; decision?: undefined } | { need: null; decision: Decision } {
  const done = (decision: Decision) => ({ need: null, decision });
  if (!input.policies.org && !input.policies.repo) return done(decide(input, cache));
  // Commits come first whatever the change: no evaluation is needed to know that, only that the policies compile (a
  // policy that does not makes an error decision, which needs nothing). evaluate itself never decides "error".
  if (!have.has("commits")) return compiledPolicies(input.policies, cache).ok ? { need: { kind: "commits" } } : done(decide(input, cache));
  const decision = decide(input, cache);
  const need = needAfterCommits(input, have, decision, cache);
  return need ? { need } : done(decision);
}

function needAfterCommits(input: EvaluationInput, have: ReadonlySet<NeedKind>, decision: Decision, cache?: PolicyCache): Need | null {
  if (decision.outcome === "error") return null;
  if (decision.outcome === "not_governed") return null;
  if (!have.has("files")) return { kind: "files" };
  if (!have.has("budget")) {
    const agents = agentsOf(decision);
    const compiled = compiledPolicies(input.policies, cache);
    if (agents.length > 0) return { kind: "budget", agents, compute: compiled.ok && compiled.policy.budgets.some((b) => COMPUTE_KEYS.has(b.key)) };
  }
  // Reviews only ever meet or hold approval gates; which gates exist depends on the files, rules and budget alone.
  if (decision.gates.total === 0) return null;
  if (!have.has("reviews")) return { kind: "reviews" };
  if (have.has("team_members")) return null;
  const teams = [...new Set(decision.rules.flatMap((r) => r.gate?.approvers.teams ?? []))].sort();
  const logins = reviewersWhoCount(input);
  return teams.length > 0 && logins.length > 0 ? { kind: "team_members", teams, logins } : null;
}

/** Every agent that binds the change, sorted. */
function agentsOf(decision: Decision): string[] {
  return [...new Set([...(decision.agent ? [decision.agent.name] : []), ...decision.agents.map((a) => a.name)])].sort();
}

/** Reviewers whose latest deciding review a gate could count: never the author, a bot or an agent. */
function reviewersWhoCount(input: EvaluationInput): string[] {
  const author = input.change.author.login.toLowerCase();
  return [
    ...new Set(
      latestReviews(input.change.reviews)
        .filter((r) => r.user.login.toLowerCase() !== author && !isAutomatedAccount(r.user.login, r.user.type, []))
        .map((r) => r.user.login),
    ),
  ].sort();
}
