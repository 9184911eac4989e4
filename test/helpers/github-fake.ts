// GitHub's REST API behind nock, answering from a small in-memory state and recording every call,
// so app tests can assert the exact calls made (bodies included) and inject failures per route.
import nock from "nock";

export const API = "https://api.github.com";

export interface Call {
  method: string;
  path: string;
  route: string;
  body: unknown;
}

export interface FakeFile {
  filename: string;
  status?: string;
  additions?: number;
  deletions?: number;
  previous_filename?: string;
}

export interface FakeReview {
  id: number;
  user: { login: string; type: string };
  state: string;
  commit_id: string;
  submitted_at: string;
}

export interface FakeState {
  /** Whether contents answers carry an ETag (GitHub's do; some proxies strip them). */
  etags?: boolean;
  /** `owner/repo@ref:path` -> text. The org policy is looked up with ref "default". */
  contents: Map<string, string>;
  files: Map<string, FakeFile[]>;
  reviews: Map<string, FakeReview[]>;
  commits: Map<string, Array<{ author?: { login: string }; commit: { message: string; author: { email: string } } }>>;
  teams: Map<string, string[]>;
  pulls: Map<string, Record<string, unknown>>;
  associated: Map<string, number[]>;
  /** `owner/name:branch` -> head commit; a branch not set answers 404 (Governor then reads the PR's own base commit). */
  branches: Map<string, string>;
  /** `owner/repo@sha` of commits GitHub does not know (git commits API answers 404). */
  missingCommits: Set<string>;
  /** `owner/repo` of repositories the installation cannot see (repos API answers 404). */
  hiddenRepos: Set<string>;
  /** `owner/repo@base...head` -> the commits of the comparison (the compare API pages through all of them). */
  compare: Map<
    string,
    Array<{ author?: { login: string } | null; committer?: { login: string } | null; commit: { message: string; author: { email: string } } }>
  >;
}

type Fault = { method: string; route: string; status: number; times: number };

const ROUTES: Array<[string, RegExp, string]> = [
  ["POST", /^\/graphql$/, "POST /graphql"],
  ["GET", /^\/orgs\/[^/]+\/teams\/[^/]+\/memberships\/[^/]+$/, "GET /orgs/{org}/teams/{slug}/memberships/{user}"],
  ["POST", /^\/app\/installations\/\d+\/access_tokens$/, "POST /app/installations/{id}/access_tokens"],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/check-runs$/, "POST /repos/{o}/{r}/check-runs"],
  ["PATCH", /^\/repos\/[^/]+\/[^/]+\/check-runs\/\d+$/, "PATCH /repos/{o}/{r}/check-runs/{id}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/commits\/[^/]+\/check-runs$/, "GET /repos/{o}/{r}/commits/{ref}/check-runs"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/contents\/.+$/, "GET /repos/{o}/{r}/contents/{path}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/files$/, "GET /repos/{o}/{r}/pulls/{n}/files"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/reviews$/, "GET /repos/{o}/{r}/pulls/{n}/reviews"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/commits$/, "GET /repos/{o}/{r}/pulls/{n}/commits"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+$/, "GET /repos/{o}/{r}/pulls/{n}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/commits\/[0-9a-f]+\/pulls$/, "GET /repos/{o}/{r}/commits/{sha}/pulls"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/git\/commits\/[0-9a-f]+$/, "GET /repos/{o}/{r}/git/commits/{sha}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/compare\/.+$/, "GET /repos/{o}/{r}/compare/{basehead}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+\/branches\/.+$/, "GET /repos/{o}/{r}/branches/{branch}"],
  ["GET", /^\/repos\/[^/]+\/[^/]+$/, "GET /repos/{o}/{r}"],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/comments$/, "POST /repos/{o}/{r}/issues/{n}/comments"],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/requested_reviewers$/, "POST /repos/{o}/{r}/pulls/{n}/requested_reviewers"],
  ["GET", /^\/orgs\/[^/]+\/teams\/[^/]+\/members$/, "GET /orgs/{org}/teams/{slug}/members"],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/labels$/, "POST /repos/{o}/{r}/labels"],
  ["POST", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/labels$/, "POST /repos/{o}/{r}/issues/{n}/labels"],
  ["DELETE", /^\/repos\/[^/]+\/[^/]+\/issues\/\d+\/labels\/.+$/, "DELETE /repos/{o}/{r}/issues/{n}/labels/{name}"],
];

export class GitHubFake {
  readonly state: FakeState = {
    contents: new Map(),
    files: new Map(),
    reviews: new Map(),
    commits: new Map(),
    teams: new Map(),
    pulls: new Map(),
    associated: new Map(),
    branches: new Map(),
    missingCommits: new Set(),
    hiddenRepos: new Set(),
    compare: new Map(),
  };
  readonly calls: Call[] = [];
  private faults: Fault[] = [];
  private checkRunId = 1000;
  /** Check runs created so far, as GitHub would list them for a commit. */
  readonly checkRuns: Array<{ id: number; repo: string; head_sha: string; name: string; status?: string; conclusion?: string }> = [];
  private readonly labels = new Set<string>();
  /** GraphQL errors to answer beside the data (GitHub's partial answers), and a field of the PR to leave out. */
  graphqlErrors: Array<Record<string, unknown>> | undefined;
  graphqlOmit: string | undefined;
  /** Milliseconds each answer takes (0: at once); tests set it to make races visible. */
  latency: () => number = () => 0;
  /** Called with each call's route as it is answered, before the answer is made. */
  onCall: ((route: string) => void) | undefined;

  constructor(private readonly appId = 4242) {
    nock.disableNetConnect();
    for (const method of ["GET", "POST", "PATCH", "DELETE"]) {
      nock(API)
        .persist()
        .intercept(/.*/, method)
        .reply((uri, body, callback) => {
          // With latency, the answer is made when the delay is over, as a slow GitHub would answer with its state then.
          const reply = (): nock.ReplyFnResult => {
            const [status, answer, headers] = this.answer(method, uri, body);
            return [status, answer as nock.ReplyBody, headers ?? {}];
          };
          const delay = this.latency();
          if (delay <= 0) return callback(null, reply());
          setTimeout(() => callback(null, reply()), delay);
        });
    }
  }

  close(): void {
    nock.cleanAll();
    nock.enableNetConnect();
  }

  fail(method: string, route: string, status: number, times = Infinity): void {
    this.faults.push({ method, route, status, times });
  }

  /** The calls made, as "METHOD route" strings, leaving out token creation. */
  routes(): string[] {
    return this.calls.filter((c) => !c.route.includes("access_tokens")).map((c) => c.route);
  }

  callsTo(route: string): Call[] {
    return this.calls.filter((c) => c.route === route);
  }

  /** Creates and updates of check runs, in order: a run is completed by either (created completed, or updated). */
  checkWrites(): Call[] {
    return this.calls.filter((c) => c.route === "POST /repos/{o}/{r}/check-runs" || c.route === "PATCH /repos/{o}/{r}/check-runs/{id}");
  }

  reset(): void {
    this.calls.length = 0;
  }

  private answer(method: string, uri: string, rawBody: unknown): [number, unknown, Record<string, string>?] {
    const url = new URL(uri, API);
    const path = decodeURIComponent(url.pathname);
    const match = ROUTES.find(([m, re]) => m === method && re.test(path));
    const route = match?.[2] ?? `${method} ${path}`;
    const body = typeof rawBody === "string" && rawBody ? (JSON.parse(rawBody) as unknown) : rawBody;
    this.calls.push({ method, path, route, body });
    this.onCall?.(route);
    const fault = this.faults.find((f) => f.method === method && f.route === route && f.times > 0);
    if (fault) {
      fault.times--;
      return [fault.status, { message: `injected ${fault.status}` }];
    }
    const seg = path.split("/");
    const repo = `${seg[2]}/${seg[3]}`;
    switch (route) {
      case "POST /graphql":
        return this.graphql(body as { query: string; variables: Record<string, unknown> });
      case "GET /orgs/{org}/teams/{slug}/memberships/{user}": {
        const members = this.state.teams.get(`${seg[2]}/${seg[4]}`);
        return members?.includes(seg[6] ?? "") ? [200, { state: "active", role: "member", url: "" }] : [404, { message: "Not Found" }];
      }
      case "POST /app/installations/{id}/access_tokens":
        return [201, { token: "ghs_test", expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {}, repository_selection: "all" }];
      case "POST /repos/{o}/{r}/check-runs": {
        const b = body as { name: string; head_sha: string; status?: string; conclusion?: string };
        const run = {
          id: ++this.checkRunId,
          repo,
          name: b.name,
          head_sha: b.head_sha,
          status: b.conclusion !== undefined ? "completed" : (b.status ?? "queued"),
          ...(b.conclusion !== undefined ? { conclusion: b.conclusion } : {}),
        };
        this.checkRuns.push(run);
        return [201, run];
      }
      case "GET /repos/{o}/{r}/commits/{ref}/check-runs": {
        const runs = this.checkRuns.filter((r) => r.repo === repo && r.head_sha === seg[5] && r.name === url.searchParams.get("check_name"));
        return [200, { total_count: runs.length, check_runs: runs.map((r) => ({ ...r, app: { id: this.appId } })) }];
      }
      case "PATCH /repos/{o}/{r}/check-runs/{id}": {
        const run = this.checkRuns.find((r) => r.id === Number(seg[5]));
        const b = body as { status?: string; conclusion?: string };
        // As GitHub: a completed run's status and conclusion are final.
        if (run?.status === "completed" && (b.status !== undefined || b.conclusion !== undefined)) return [422, { message: "Validation Failed" }];
        if (run && b.conclusion !== undefined) Object.assign(run, { status: "completed", conclusion: b.conclusion });
        else if (run && b.status !== undefined) run.status = b.status;
        return [200, { id: Number(seg[5]), ...(body as object) }];
      }
      case "GET /repos/{o}/{r}/contents/{path}": {
        const file = seg.slice(5).join("/");
        const ref = url.searchParams.get("ref") ?? "default";
        const text = this.state.contents.get(`${repo}@${ref}:${file}`);
        if (text === undefined) return [404, { message: "Not Found" }];
        return [
          200,
          { type: "file", encoding: "base64", content: Buffer.from(text).toString("base64"), sha: "f".repeat(40), path: file },
          this.state.etags === false ? {} : { etag: `"${text.length}"` },
        ];
      }
      case "GET /repos/{o}/{r}/pulls/{n}/files":
        return this.page(url, this.state.files.get(`${repo}#${seg[5]}`) ?? [], 3000);
      case "GET /repos/{o}/{r}/pulls/{n}/reviews":
        return this.page(url, this.state.reviews.get(`${repo}#${seg[5]}`) ?? []);
      case "GET /repos/{o}/{r}/pulls/{n}/commits":
        return this.page(url, this.state.commits.get(`${repo}#${seg[5]}`) ?? [], 250); // GitHub lists at most 250
      case "GET /repos/{o}/{r}/git/commits/{sha}":
        return this.state.missingCommits.has(`${repo}@${seg[6]}`) ? [404, { message: "Not Found" }] : [200, { sha: seg[6] }];
      case "GET /repos/{o}/{r}":
        return this.state.hiddenRepos.has(repo) ? [404, { message: "Not Found" }] : [200, { name: seg[3], full_name: repo }];
      case "GET /repos/{o}/{r}/compare/{basehead}": {
        const all = this.state.compare.get(`${repo}@${seg.slice(5).join("/")}`);
        if (!all) return [404, { message: "Not Found" }];
        const perPage = Number(url.searchParams.get("per_page") ?? 250);
        const pageNo = Number(url.searchParams.get("page") ?? 1);
        return [
          200,
          {
            status: "ahead",
            ahead_by: all.length,
            behind_by: 0,
            total_commits: all.length,
            commits: all.slice((pageNo - 1) * perPage, pageNo * perPage),
            files: [],
          },
        ];
      }
      case "POST /repos/{o}/{r}/issues/{n}/comments":
        return [201, { id: 1, body: (body as { body: string }).body }];
      case "GET /repos/{o}/{r}/pulls/{n}": {
        const pr = this.state.pulls.get(`${repo}#${seg[5]}`);
        return pr ? [200, pr] : [404, { message: "Not Found" }];
      }
      case "GET /repos/{o}/{r}/commits/{sha}/pulls":
        return [200, (this.state.associated.get(`${repo}@${seg[5]}`) ?? []).map((n) => this.state.pulls.get(`${repo}#${n}`))];
      case "GET /orgs/{org}/teams/{slug}/members": {
        const members = this.state.teams.get(`${seg[2]}/${seg[4]}`);
        if (!members) return [404, { message: "Not Found" }];
        return this.page(
          url,
          members.map((login) => ({ login, type: "User" })),
        );
      }
      case "POST /repos/{o}/{r}/labels": {
        const name = (body as { name: string }).name;
        if (this.labels.has(`${repo}:${name}`)) return [422, { message: "Validation Failed", errors: [{ code: "already_exists" }] }];
        this.labels.add(`${repo}:${name}`);
        return [201, { name }];
      }
      case "POST /repos/{o}/{r}/issues/{n}/labels":
        return [200, ((body as { labels: string[] }).labels ?? []).map((name) => ({ name }))];
      case "DELETE /repos/{o}/{r}/issues/{n}/labels/{name}":
        return [200, []];
      case "POST /repos/{o}/{r}/pulls/{n}/requested_reviewers":
        return [201, { number: Number(seg[5]) }];
      case "GET /repos/{o}/{r}/branches/{branch}": {
        const sha = this.state.branches.get(`${repo}:${seg.slice(5).join("/")}`);
        return sha ? [200, { name: seg.slice(5).join("/"), commit: { sha } }] : [404, { message: "Branch not found" }];
      }
      default:
        return [404, { message: `the fake has no route ${method} ${path}` }];
    }
  }

  /**
   * GraphQL: the one query the app makes (src/github/snapshot.ts), answered from the same state as the REST routes,
   * shaped as GitHub's GraphQL API gives it (a bot's commits link no user; a bot's login lacks "[bot]").
   */
  private graphql(body: { query: string; variables: Record<string, unknown> }): [number, unknown] {
    const op = /^\s*query\s+(\w+)/.exec(body.query)?.[1];
    if (op !== "GovernorPullRequest") return [200, { data: null, errors: [{ message: `the fake has no GraphQL operation ${op ?? "(anonymous)"}` }] }];
    const { owner, repo, number } = body.variables as { owner: string; repo: string; number: number };
    const full = `${owner}/${repo}`;
    const pr = this.state.pulls.get(`${full}#${number}`) as
      | {
          number: number;
          state: string;
          merged?: boolean;
          draft?: boolean;
          created_at?: string;
          html_url?: string;
          head: { ref: string; sha: string };
          base: { ref: string; sha: string };
          labels?: Array<{ name: string }>;
          requested_reviewers?: Array<{ login: string }>;
          requested_teams?: Array<{ slug: string }>;
          changed_files?: number;
        }
      | undefined;
    if (!pr) {
      return [
        200,
        {
          data: { repository: { pullRequest: null } },
          errors: [{ type: "NOT_FOUND", path: ["repository", "pullRequest"], message: "Could not resolve to a PullRequest" }],
        },
      ];
    }
    const files = (this.state.files.get(`${full}#${number}`) ?? []).slice(0, 3000);
    const commits = this.state.commits.get(`${full}#${number}`) ?? [];
    const reviews = this.state.reviews.get(`${full}#${number}`) ?? [];
    const branch = this.state.branches.get(`${full}:${pr.base.ref}`);
    const user = (login: string | undefined) => (login && !login.endsWith("[bot]") ? { login } : null);
    const answer = (pullRequest: Record<string, unknown>): [number, unknown] => {
      if (this.graphqlOmit) delete pullRequest[this.graphqlOmit];
      return [200, { data: { repository: { pullRequest } }, ...(this.graphqlErrors ? { errors: this.graphqlErrors } : {}) }];
    };
    const changeType: Record<string, string> = {
      added: "ADDED",
      removed: "DELETED",
      modified: "MODIFIED",
      renamed: "RENAMED",
      copied: "COPIED",
      changed: "CHANGED",
    };
    type C = { author?: { login: string } | null; committer?: { login: string } | null; commit: { message: string; author: { email: string } } };
    return answer({
      number: pr.number,
      state: pr.state === "open" ? "OPEN" : pr.merged ? "MERGED" : "CLOSED",
      isDraft: pr.draft ?? false,
      createdAt: pr.created_at ?? "2026-11-24T11:00:00Z",
      url: pr.html_url ?? `https://github.com/${full}/pull/${number}`,
      headRefName: pr.head.ref,
      headRefOid: pr.head.sha,
      baseRefName: pr.base.ref,
      baseRefOid: pr.base.sha,
      changedFiles: pr.changed_files ?? files.length,
      baseRef: branch ? { target: { oid: branch } } : null,
      labels: { totalCount: (pr.labels ?? []).length, nodes: (pr.labels ?? []).slice(0, 100).map((l) => ({ name: l.name })) },
      reviewRequests: {
        nodes: [
          ...(pr.requested_reviewers ?? []).map((r) => ({ requestedReviewer: { __typename: "User", login: r.login } })),
          ...(pr.requested_teams ?? []).map((t) => ({ requestedReviewer: { __typename: "Team", slug: t.slug } })),
        ],
      },
      files: {
        totalCount: files.length,
        nodes: files.slice(0, 100).map((f) => ({
          path: f.filename,
          additions: f.additions ?? 0,
          deletions: f.deletions ?? 0,
          changeType: changeType[f.status ?? "modified"] ?? "MODIFIED",
        })),
      },
      commits: {
        totalCount: commits.length,
        nodes: (commits as C[]).slice(0, 100).map((c) => ({
          commit: {
            message: c.commit.message,
            author: { email: c.commit.author.email, user: user(c.author?.login) },
            committer: { email: null, user: user(c.committer?.login) },
          },
        })),
      },
      reviews: {
        totalCount: reviews.length,
        nodes: reviews.slice(0, 100).map((r) => ({
          databaseId: r.id,
          state: r.state,
          submittedAt: r.submitted_at,
          author: { __typename: r.user.type === "Bot" ? "Bot" : "User", login: r.user.type === "Bot" ? r.user.login.replace(/\[bot\]$/, "") : r.user.login },
          commit: { oid: r.commit_id },
        })),
      },
    });
  }

  private page(url: URL, items: unknown[], cap = Infinity): [number, unknown, Record<string, string>] {
    const perPage = Number(url.searchParams.get("per_page") ?? 30);
    const page = Number(url.searchParams.get("page") ?? 1);
    const visible = items.slice(0, cap);
    const slice = visible.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < visible.length) {
      const next = new URL(url);
      next.searchParams.set("page", String(page + 1));
      headers["link"] = `<${next.toString()}>; rel="next"`;
    }
    return [200, slice, headers];
  }
}
