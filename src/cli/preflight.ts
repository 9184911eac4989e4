// The local change source of `governor check` and `governor mcp`: the policies as the app would read them (the repo's
// at the base commit, the org's from a file or from GitHub), commit authors from git, and the caveats that say where
// this answer may differ from the app's because something the app reads on GitHub is not known here.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { PRESETS } from "../policy/agents.js";
import type { ChangedFile, ChangeInput, Review } from "../policy/change.js";
import { compileInput } from "../policy/decide.js";
import type { Decision } from "../policy/decision.js";
import { gatherChange } from "../change/gather.js";
import type { EvaluationInput, PolicySource } from "../policy/input.js";
import type { ChangeSource } from "../policy/needs.js";
import { REPO_POLICY_PATHS } from "../policy/paths.js";
import { closest } from "../policy/suggest.js";
import { UsageError } from "./context.js";
import { commitAuthors, fileAt, originRepo } from "./git.js";
import { fetchOrgPolicy } from "./org-policy.js";

/** A way in which the local answer may differ from the app's; `id` is stable for scripts. */
export interface Caveat {
  id: "policy_not_from_base" | "org_policy_unread" | "org_policy_absent" | "no_policy" | "reviews" | "team_members" | "budget" | "author" | "commits" | "lines";
  message: string;
}

export interface PolicyOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** The base commit (resolved), when the policy is read from git. */
  baseSha?: string;
  /** An explicit repo policy file in the working tree (overrides the base). */
  policy?: string;
  /** An org policy file; without it GITHUB_TOKEN fetches the org's. */
  orgPolicy?: string;
  /** `owner/name`, when known. */
  repo?: string;
}

export interface LocalPolicies {
  policies: EvaluationInput["policies"];
  repo: { owner: string; name: string };
  /** Whether `repo` is a real repository name (given, from the environment or the origin remote) or a stand-in. */
  repoKnown: boolean;
  caveats: Caveat[];
}

function readText(path: string, cwd: string): string {
  try {
    return readFileSync(resolve(cwd, path), "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** `owner/name` from --repo, else GITHUB_REPOSITORY (set in Actions), else the origin remote. */
export function repoName(opts: { repo?: string; env: Record<string, string | undefined>; cwd: string }): { owner: string; name: string; known: boolean } {
  const full = opts.repo || opts.env["GITHUB_REPOSITORY"] || originRepo(opts.cwd);
  if (!full) return { owner: "local", name: "repo", known: false };
  const [owner, name, extra] = full.split("/");
  if (!owner || !name || extra !== undefined) throw new UsageError(`--repo ${full}: expected OWNER/NAME`);
  return { owner, name, known: true };
}

/** The repo policy at `sha`: either file (both is an error, as on GitHub), or none. */
export function repoPolicyAt(sha: string, cwd: string, repo?: string): PolicySource | null {
  const found = REPO_POLICY_PATHS.flatMap((path) => {
    const text = fileAt(sha, path, cwd);
    return text === null ? [] : [{ text, path, ...(repo ? { repo } : {}), sha }];
  });
  if (found.length > 1) throw new UsageError(`both ${found.map((f) => f.path).join(" and ")} exist at ${sha.slice(0, 12)}; keep one policy file`);
  return found[0] ?? null;
}

/** The repo policy file in the working tree `dir`, or null; both files present is an error, as it is on GitHub. */
export function workingTreePolicy(dir: string): string | null {
  const found = REPO_POLICY_PATHS.filter((p) => existsSync(resolve(dir, p)));
  if (found.length > 1) throw new UsageError(`both ${found.join(" and ")} exist; keep one policy file`);
  return found[0] ?? null;
}

export async function localPolicies(opts: PolicyOptions): Promise<LocalPolicies> {
  const name = repoName(opts);
  const full = name.known ? `${name.owner}/${name.name}` : undefined;
  const caveats: Caveat[] = [];
  const policies: EvaluationInput["policies"] = {};

  if (opts.policy) {
    policies.repo = { text: readText(opts.policy, opts.cwd), path: opts.policy };
    caveats.push({
      id: "policy_not_from_base",
      message: `The repo policy is ${opts.policy} as given with --policy; the app reads it from the PR's base commit.`,
    });
  } else if (opts.baseSha) {
    const atBase = repoPolicyAt(opts.baseSha, opts.cwd, full);
    if (atBase) policies.repo = atBase;
  } else {
    const path = workingTreePolicy(opts.cwd);
    if (path) {
      policies.repo = { text: readText(path, opts.cwd), path };
      caveats.push({
        id: "policy_not_from_base",
        message: `The repo policy is ${path} as it is in the working tree; the app reads it from the PR's base commit (pass --base REF to do the same).`,
      });
    }
  }

  const token = opts.env["GITHUB_TOKEN"];
  if (opts.orgPolicy) {
    policies.org = { text: readText(opts.orgPolicy, opts.cwd), path: opts.orgPolicy };
  } else if (token && name.known) {
    const org = await fetchOrgPolicy(name.owner, token, opts.env["GITHUB_API_URL"]);
    if (org) policies.org = org;
    else
      caveats.push({
        id: "org_policy_absent",
        message: `${name.owner}/.github has no governance.yml (or this token cannot see it; the app, installed there, may).`,
      });
  } else {
    caveats.push({
      id: "org_policy_unread",
      message: token
        ? "The org policy was not read: the repository's owner is unknown (pass --repo OWNER/NAME)."
        : "The org policy was not read: pass --org-policy FILE, or set GITHUB_TOKEN to fetch the org's .github/governance.yml.",
    });
  }
  if (!policies.org && !policies.repo && !opts.baseSha) {
    // Without a base there is no "the app would find no policy" to report: most likely the wrong directory.
    throw new UsageError(`no policy file: expected ${REPO_POLICY_PATHS.join(" or ")} in ${opts.cwd} (or pass --base REF, --policy FILE or --org-policy FILE)`);
  }
  if (!policies.org && !policies.repo) {
    caveats.push({ id: "no_policy", message: `No policy: neither ${REPO_POLICY_PATHS.join(" nor ")} exists at the base commit, and no org policy was read.` });
  }
  return { policies, repo: { owner: name.owner, name: name.name }, repoKnown: name.known, caveats };
}

/** The agent names a policy knows: every preset and its custom agents. */
export function knownAgents(policies: EvaluationInput["policies"]): string[] | null {
  const compiled = compileInput(policies);
  if (!compiled.ok) return null;
  return [...new Set([...compiled.policy.agents.map((a) => a.name), ...Object.keys(PRESETS)])];
}

/** Refuses an agent name the policy does not know, suggesting the closest known one. */
export function checkAgentName(agent: string, policies: EvaluationInput["policies"]): void {
  const known = knownAgents(policies);
  if (known === null || known.includes(agent)) return; // an invalid policy is reported by the decision itself
  const hint = closest(agent, known);
  throw new UsageError(`unknown agent "${agent}"${hint ? `; did you mean "${hint}"?` : ""} (known: ${known.join(", ")})`);
}

export interface ChangeOptions {
  files: ChangedFile[];
  author?: string;
  authorType?: string;
  branch: string;
  labels?: string[];
  /** Given, or read (from git) only when the evaluator asks for the commits. */
  commitAuthors?: readonly string[] | (() => readonly string[]);
  agent?: string;
  approvedBy?: string[];
  changesRequestedBy?: string[];
  team?: string[];
  now: string;
  prsToday?: number;
}

const HEAD_SHA = "0000000000000000000000000000000000000000";

/**
 * The local change source: the files given or diffed, commit authors from git (read only when asked), and the reviews
 * and team memberships modelled on the command line (GitHub's are not read here; the caveats say so).
 */
function localSource(o: ChangeOptions, reviews: Review[], teamMembers: Record<string, string[]>): ChangeSource {
  return {
    commits: () => {
      const authors = typeof o.commitAuthors === "function" ? o.commitAuthors() : (o.commitAuthors ?? []);
      return Promise.resolve({ authors: [...new Set(authors)].sort(), contributors: [] });
    },
    files: () => Promise.resolve(o.files),
    reviews: () => Promise.resolve(reviews),
    // As the app records them: for each team a gate names, which of the reviewers who count are members.
    teamMembers: (teams, logins) => {
      const wanted = new Set(logins.map((l) => l.toLowerCase()));
      return Promise.resolve(Object.fromEntries(teams.map((t) => [t, (teamMembers[t] ?? []).filter((m) => wanted.has(m.toLowerCase()))])));
    },
  };
}

/** The evaluation input the app would build for this change, gathered through the same seam as the app's (src/change/gather.ts). */
export async function buildInput(local: LocalPolicies, o: ChangeOptions): Promise<EvaluationInput> {
  if (o.agent) checkAgentName(o.agent, local.policies);
  const teamMembers: Record<string, string[]> = {};
  for (const entry of o.team ?? []) {
    const [member, team] = entry.split(":");
    if (!member || !team || !team.includes("/")) throw new UsageError(`--team ${entry}: expected MEMBER:org/team`);
    (teamMembers[team] ??= []).push(member);
  }
  const reviews: Review[] = [
    ...(o.approvedBy ?? []).map((login) => ({ login, state: "APPROVED" as const })),
    ...(o.changesRequestedBy ?? []).map((login) => ({ login, state: "CHANGES_REQUESTED" as const })),
  ].map((r, i) => ({
    id: i + 1,
    user: { login: r.login, type: r.login.endsWith("[bot]") ? "Bot" : "User" },
    state: r.state,
    commit_id: HEAD_SHA,
    submitted_at: o.now,
  }));
  const change: ChangeInput = {
    repo: local.repo,
    author: { login: o.author ?? "local-user", type: o.authorType ?? "User" },
    head_branch: o.branch,
    head_sha: HEAD_SHA,
    labels: [...(o.labels ?? [])].sort(),
    commit_authors: [],
    files: [],
    reviews: [],
    team_members: {},
    ...(o.agent ? { agent_override: o.agent } : {}),
  };
  // The budget: the count given with --prs-today (the server's store is not read here; a caveat says so).
  const { input } = await gatherChange(
    { policies: local.policies, change, context: { now: o.now, usage: { prs_today: o.prsToday ?? 1 } } },
    localSource(o, reviews, teamMembers),
    () => Promise.resolve({}),
  );
  return input;
}

/** Commit authors and co-authors of `base..HEAD`, with those given by hand. */
export function authorsSince(baseSha: string | undefined, cwd: string, extra: readonly string[]): string[] {
  return [...new Set([...(baseSha ? commitAuthors(baseSha, cwd) : []), ...extra])].sort();
}

/** Where this decision may differ from the app's, given what was and was not known locally. */
export function decisionCaveats(
  decision: Decision,
  known: { reviews: boolean; teams: boolean; prsToday: boolean; author: boolean; commits: boolean },
): Caveat[] {
  const out: Caveat[] = [];
  const gates = decision.rules.filter((r) => r.gate);
  if (gates.length > 0 && !known.reviews) {
    out.push({
      id: "reviews",
      message: `Reviews are not read here: ${gates.length} approval gate${gates.length === 1 ? "" : "s"} (${gates.map((g) => g.id).join(", ")}) may already be met on GitHub (model reviews with --approved-by).`,
    });
  }
  const teams = [...new Set(gates.flatMap((g) => g.gate?.approvers.teams ?? []))];
  if (teams.length > 0 && !known.teams) {
    out.push({
      id: "team_members",
      message: `Team membership is not read here: approvals by members of ${teams.map((t) => `@${t}`).join(", ")} cannot be counted (model them with --team MEMBER:org/team).`,
    });
  }
  if (decision.limits.some((l) => l.id === "limits.max_prs_per_day") && !known.prsToday) {
    out.push({
      id: "budget",
      message: "The PRs-per-day budget counts this PR only: the app counts the agent's PRs from its audit store, which is not read here (pass --prs-today N).",
    });
  }
  if (!known.author) {
    out.push({ id: "author", message: "The PR author is assumed to be local-user; on GitHub the author's login may identify an agent (pass --author LOGIN)." });
  }
  if (!known.commits) {
    out.push({
      id: "commits",
      message: "Commit authors were not read (no --base): an agent known only by its commits or Co-authored-by trailers is not recognised.",
    });
  }
  return out;
}
