// The simulator's GraphQL API: the queries Governor makes, answered from the simulator's state as GitHub's GraphQL API
// shapes them, each query validated against GitHub's published schema (@octokit/graphql-schema) where it is installed.
// The schema and `graphql` are development dependencies: a production install (`governor demo`) answers unvalidated.
import type { SimPull, SimState } from "./state.js";

type Validate = (query: string) => ReadonlyArray<{ message: string }>;
let validator: Promise<Validate | null> | undefined;

/** GitHub's schema validator, loaded once per process; null where the package is not installed. */
export function schemaValidator(): Promise<Validate | null> {
  validator ??= import("@octokit/graphql-schema").then(
    (m: { validate: Validate }) => m.validate,
    () => null,
  );
  return validator;
}

interface Request {
  query?: unknown;
  variables?: Record<string, unknown>;
}

type Answer = { data: unknown; errors?: Array<{ type?: string; path?: string[]; message: string }> };

export async function answerGraphql(state: SimState, body: unknown): Promise<Answer> {
  const { query, variables = {} } = (body ?? {}) as Request;
  if (typeof query !== "string") return { data: null, errors: [{ message: "A query attribute must be specified and must be a string." }] };
  const validate = await schemaValidator();
  let invalid: ReadonlyArray<{ message: string }>;
  try {
    invalid = validate ? validate(query) : [];
  } catch (error) {
    invalid = [{ message: (error as Error).message }]; // a syntax error
  }
  if (invalid.length > 0) return { data: null, errors: invalid.map((e) => ({ message: e.message })) };
  const operation = /^\s*query\s+(\w+)/.exec(query)?.[1];
  if (operation === "GovernorPullRequest") return pullRequest(state, variables as { owner: string; repo: string; number: number });
  return { data: null, errors: [{ message: `the simulator does not answer the GraphQL operation ${operation ?? "(anonymous)"}` }] };
}

const CHANGE_TYPE: Record<SimPull["files"][number]["status"], string> = {
  added: "ADDED",
  removed: "DELETED",
  modified: "MODIFIED",
  renamed: "RENAMED",
  copied: "COPIED",
  changed: "CHANGED",
  unchanged: "MODIFIED",
};

/** GraphQL links commits to a User only: a bot's commit has no user, and a bot's own login there lacks "[bot]". */
const userOf = (login: string | undefined) => (login && !login.endsWith("[bot]") ? { login } : null);

function pullRequest(state: SimState, v: { owner: string; repo: string; number: number }): Answer {
  const repo = state.repos.get(`${v.owner}/${v.repo}`);
  if (!repo)
    return {
      data: { repository: null },
      errors: [{ type: "NOT_FOUND", path: ["repository"], message: `Could not resolve to a Repository with the name '${v.owner}/${v.repo}'.` }],
    };
  const pr = state.pulls.get(`${v.owner}/${v.repo}#${v.number}`);
  if (!pr) {
    return {
      data: { repository: { pullRequest: null } },
      errors: [{ type: "NOT_FOUND", path: ["repository", "pullRequest"], message: `Could not resolve to a PullRequest with the number of ${v.number}.` }],
    };
  }
  const baseHead = repo.branches.get(pr.base.ref);
  const files = pr.files.slice(0, 3000);
  return {
    data: {
      repository: {
        pullRequest: {
          number: pr.number,
          state: pr.state === "open" ? "OPEN" : "CLOSED",
          isDraft: pr.draft,
          createdAt: pr.created_at,
          url: `https://github.com/${pr.repo}/pull/${pr.number}`,
          headRefName: pr.head.ref,
          headRefOid: pr.head.sha,
          baseRefName: pr.base.ref,
          baseRefOid: pr.base.sha,
          changedFiles: pr.files.length,
          baseRef: baseHead ? { target: { oid: baseHead } } : null,
          labels: { totalCount: pr.labels.length, nodes: pr.labels.slice(0, 100).map((name) => ({ name })) },
          reviewRequests: {
            nodes: [
              ...pr.requestedUsers.map((login) => ({ requestedReviewer: { __typename: "User", login } })),
              ...pr.requestedTeams.map((slug) => ({ requestedReviewer: { __typename: "Team", slug } })),
            ],
          },
          files: {
            totalCount: files.length,
            nodes: files.slice(0, 100).map((f) => ({ path: f.filename, additions: f.additions, deletions: f.deletions, changeType: CHANGE_TYPE[f.status] })),
          },
          commits: {
            totalCount: pr.commits.length,
            nodes: pr.commits.slice(0, 100).map((c) => ({
              commit: { message: c.message, author: { email: c.author.email, user: userOf(c.author.login) }, committer: { email: null, user: null } },
            })),
          },
          reviews: {
            totalCount: pr.reviews.length,
            nodes: pr.reviews.slice(0, 100).map((r) => ({
              databaseId: r.id,
              state: r.state,
              submittedAt: r.submitted_at,
              author: {
                __typename: r.user.type === "Bot" ? "Bot" : "User",
                login: r.user.type === "Bot" ? r.user.login.replace(/\[bot\]$/, "") : r.user.login,
              },
              commit: { oid: r.commit_id },
            })),
          },
        },
      },
    },
  };
}
