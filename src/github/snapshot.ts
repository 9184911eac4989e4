// One GraphQL query for everything about a PR that an evaluation reads from GitHub: its current state, its base branch's
// head, labels, files, commits (authors, committers, messages) and reviews. REST is used only where GraphQL cannot
// answer: renamed or copied files (GraphQL's PR files have no previous path) and lists longer than one page.
import { z } from "zod";
import type { ChangedFile, Review } from "../policy/change.js";
import { compileFastCheck, UnsupportedSchemaError } from "../policy/fast-check.js";
import type { PullRequest } from "./payload.js";
import type { Octokit } from "./ports.js";

/** One page: GraphQL connections give at most 100 nodes a request. */
export const SNAPSHOT_PAGE = 100;

export const SNAPSHOT_QUERY = `query GovernorPullRequest($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      number
      state
      isDraft
      createdAt
      url
      headRefName
      headRefOid
      baseRefName
      baseRefOid
      changedFiles
      baseRef { target { oid } }
      labels(first: 100) { totalCount nodes { name } }
      reviewRequests(first: 100) { nodes { requestedReviewer { __typename ... on User { login } ... on Bot { login } ... on Team { slug } } } }
      files(first: 100) { totalCount nodes { path additions deletions changeType } }
      commits(first: 100) {
        totalCount
        nodes { commit { message author { email user { login } } committer { email user { login } } } }
      }
      reviews(first: 100) {
        totalCount
        nodes { databaseId state submittedAt author { __typename login } commit { oid } }
      }
    }
  }
}`;

const Actor = z.object({ __typename: z.string(), login: z.string() }).nullable();
const GitActor = z.object({ email: z.string().nullable(), user: z.object({ login: z.string() }).nullable() }).nullable();
const connection = <T extends z.ZodTypeAny>(node: T) => z.object({ totalCount: z.number().int().min(0), nodes: z.array(node) });

/** The answer, checked field by field: a field GitHub left null or out fails the evaluation, never passes it. */
export const SnapshotSchema = z.object({
  repository: z.object({
    pullRequest: z.object({
      number: z.number().int(),
      state: z.enum(["OPEN", "CLOSED", "MERGED"]),
      isDraft: z.boolean(),
      createdAt: z.string(),
      url: z.string(),
      headRefName: z.string(),
      headRefOid: z.string().min(7),
      baseRefName: z.string(),
      baseRefOid: z.string().min(7),
      changedFiles: z.number().int().min(0),
      baseRef: z.object({ target: z.object({ oid: z.string().min(7) }) }).nullable(),
      labels: connection(z.object({ name: z.string() })),
      reviewRequests: z.object({
        nodes: z.array(
          z.object({ requestedReviewer: z.object({ __typename: z.string(), login: z.string().optional(), slug: z.string().optional() }).nullable() }),
        ),
      }),
      files: connection(
        z.object({
          path: z.string().min(1),
          additions: z.number().int().min(0),
          deletions: z.number().int().min(0),
          changeType: z.enum(["ADDED", "CHANGED", "COPIED", "DELETED", "MODIFIED", "RENAMED"]),
        }),
      ),
      commits: connection(z.object({ commit: z.object({ message: z.string(), author: GitActor, committer: GitActor }) })),
      reviews: connection(
        z.object({
          databaseId: z.number().int(),
          state: z.enum(["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"]),
          submittedAt: z.string().nullable(),
          author: Actor,
          commit: z.object({ oid: z.string() }).nullable(),
        }),
      ),
    }),
  }),
});
type Answer = z.infer<typeof SnapshotSchema>["repository"]["pullRequest"];

/**
 * Whether an answer is valid exactly as GitHub gave it (only the fields asked for, each as the schema says): then it is
 * used without zod's copy. Anything else goes through the schema, which refuses it or drops what was not asked for.
 */
const validAsIs: ((value: unknown) => value is z.infer<typeof SnapshotSchema>) | null = (() => {
  try {
    return compileFastCheck(SnapshotSchema);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) return null;
    throw error;
  }
})();

export class SnapshotError extends Error {
  override name = "SnapshotError";
}

const STATUS: Record<Answer["files"]["nodes"][number]["changeType"], ChangedFile["status"]> = {
  ADDED: "added",
  CHANGED: "changed",
  COPIED: "copied",
  DELETED: "removed",
  MODIFIED: "modified",
  RENAMED: "renamed",
};
const CO_AUTHOR = /^co-authored-by:.*<([^>]+)>\s*$/gim;
/** GitHub's no-reply address: `<id>+<login>@users.noreply.github.com` (older ones: `<login>@users.noreply.github.com`). */
const NOREPLY = /^(?:\d+\+)?([^@\s]+)@users\.noreply\.github\.com$/i;

export interface Snapshot {
  /** The PR as it is now, in the webhook's shape; the author (which never changes) is the caller's. */
  pr: PullRequest;
  /** The head of the base branch: its policy governs the PR (the PR's own base commit when the branch is gone). */
  baseHead: string;
  /** The files, or null when REST must list them (renames and copies, or more than one page). */
  files: ChangedFile[] | null;
  /** Commit authors and contributors, or null when REST must list the commits (more than one page). */
  commits: { authors: string[]; contributors: string[] } | null;
  /** The reviews, or null when REST must list them (more than one page). */
  reviews: Review[] | null;
}

/**
 * The login GitHub's REST API would give a commit's author or committer. GraphQL links a commit only to a User, so a
 * bot's commit (`copilot-swe-agent[bot]`, `devin-ai-integration[bot]`) has no user there; REST links those by the
 * bot's no-reply address, which is all a bot can commit as, and so is it read here.
 */
function loginOf(actor: z.infer<typeof GitActor>): string | undefined {
  if (!actor) return undefined;
  if (actor.user) return actor.user.login;
  const m = actor.email ? NOREPLY.exec(actor.email) : null;
  return m?.[1]?.toLowerCase().endsWith("[bot]") ? m[1] : undefined;
}

/** Reads the PR in one query. Any GraphQL error, missing object or unexpected field fails with a SnapshotError. */
export async function readSnapshot(octokit: Octokit, target: { owner: string; repo: string }, payload: PullRequest): Promise<Snapshot> {
  let raw: unknown;
  try {
    raw = await octokit.graphql(SNAPSHOT_QUERY, { owner: target.owner, repo: target.repo, number: payload.number });
  } catch (error) {
    // @octokit/graphql throws on an `errors` array too, partial data or not: either is a failed read.
    const e = error as { status?: number; errors?: Array<{ message?: string }>; message?: string };
    const why = e.errors?.length ? e.errors.map((x) => x.message ?? "").join("; ") : e.status ? `GitHub answered ${e.status}` : (e.message ?? String(error));
    throw new SnapshotError(`could not read PR #${payload.number} of ${target.owner}/${target.repo} (GraphQL: ${why})`);
  }
  const parsed = validAsIs?.(raw) ? { success: true as const, data: raw } : SnapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotError(
      `GitHub's answer for PR #${payload.number} of ${target.owner}/${target.repo} is incomplete (${issue ? `${issue.path.join(".")}: ${issue.message}` : "unreadable"})`,
    );
  }
  const p = parsed.data.repository.pullRequest;
  if (p.number !== payload.number) throw new SnapshotError(`GitHub answered for PR #${p.number} when asked for #${payload.number}`);
  if (p.labels.totalCount > p.labels.nodes.length) {
    throw new SnapshotError(`PR #${payload.number} has ${p.labels.totalCount} labels; Governor reads at most ${SNAPSHOT_PAGE}`);
  }
  const requested = p.reviewRequests.nodes.flatMap((n) => (n.requestedReviewer ? [n.requestedReviewer] : []));
  const pr: PullRequest = {
    number: p.number,
    state: p.state === "OPEN" ? "open" : "closed",
    draft: p.isDraft,
    user: payload.user,
    head: { ref: p.headRefName, sha: p.headRefOid },
    base: { ref: p.baseRefName, sha: p.baseRefOid },
    labels: p.labels.nodes.map((l) => ({ name: l.name })),
    requested_reviewers: requested.flatMap((r) => (r.__typename !== "Team" && r.login ? [{ login: r.login }] : [])),
    requested_teams: requested.flatMap((r) => (r.__typename === "Team" && r.slug ? [{ slug: r.slug }] : [])),
    changed_files: p.changedFiles,
    commits: p.commits.totalCount,
    created_at: p.createdAt,
    html_url: p.url,
  };
  const filesComplete = p.files.nodes.length >= p.files.totalCount && p.files.nodes.length >= p.changedFiles;
  const renames = p.files.nodes.some((f) => f.changeType === "RENAMED" || f.changeType === "COPIED");
  return {
    pr,
    baseHead: p.baseRef?.target.oid ?? p.baseRefOid,
    files:
      filesComplete && !renames
        ? p.files.nodes.map((f) => ({ path: f.path, status: STATUS[f.changeType], additions: f.additions, deletions: f.deletions }))
        : null,
    commits: p.commits.nodes.length >= p.commits.totalCount ? commitSignals(p.commits.nodes) : null,
    reviews: p.reviews.nodes.length >= p.reviews.totalCount ? p.reviews.nodes.flatMap(reviewOf) : null,
  };
}

function commitSignals(nodes: Answer["commits"]["nodes"]): { authors: string[]; contributors: string[] } {
  const authors = new Set<string>();
  const contributors = new Set<string>();
  for (const { commit } of nodes) {
    for (const login of [loginOf(commit.author), loginOf(commit.committer)]) {
      if (!login) continue;
      authors.add(login);
      contributors.add(login);
    }
    if (commit.author?.email) authors.add(commit.author.email);
    for (const m of commit.message.matchAll(CO_AUTHOR)) if (m[1]) authors.add(m[1]);
  }
  return { authors: [...authors].sort(), contributors: [...contributors].sort() };
}

function reviewOf(r: Answer["reviews"]["nodes"][number]): Review[] {
  // A review whose author GitHub no longer knows (a deleted account) is no one's approval, as REST's null user.
  if (!r.author) return [];
  return [
    {
      id: r.databaseId,
      user: {
        login: r.author.__typename === "Bot" && !r.author.login.endsWith("[bot]") ? `${r.author.login}[bot]` : r.author.login,
        type: r.author.__typename,
      },
      state: r.state,
      commit_id: r.commit?.oid ?? null,
      submitted_at: r.submittedAt,
    },
  ];
}
