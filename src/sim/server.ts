// The simulator's REST API: the part of GitHub's API Governor uses, validated against GitHub's OpenAPI description.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Fault, Faults } from "./faults.js";
import { SimOAuth } from "./oauth.js";
import { answerGraphql, schemaValidator } from "./graphql.js";
import { OpenApiValidator } from "./openapi.js";
import { type SimCheckRun, type SimDelivery, type SimPull, type SimRepo, SimState } from "./state.js";

export interface LoggedRequest {
  method: string;
  route: string;
  url: string;
  status: number;
  /** When the request arrived (performance.now() in this process) and how long it took. */
  at: number;
  ms: number;
}

export const SERVED = [
  "/app",
  "/app/installations",
  "/app/installations/{installation_id}/access_tokens",
  "/repos/{owner}/{repo}/installation",
  "/repos/{owner}/{repo}/contents/{path}",
  "/repos/{owner}/{repo}/pulls/{pull_number}",
  "/repos/{owner}/{repo}/pulls/{pull_number}/files",
  "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
  "/repos/{owner}/{repo}/pulls/{pull_number}/commits",
  "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
  "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
  "/orgs/{org}/teams/{team_slug}/members",
  "/orgs/{org}/teams/{team_slug}/memberships/{username}",
  "/repos/{owner}/{repo}/check-runs",
  "/repos/{owner}/{repo}/check-runs/{check_run_id}",
  "/repos/{owner}/{repo}/commits/{ref}/check-runs",
  "/repos/{owner}/{repo}/labels",
  "/repos/{owner}/{repo}/labels/{name}",
  "/repos/{owner}/{repo}/issues/{issue_number}/labels",
  "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
  "/repos/{owner}/{repo}/issues/{issue_number}/comments",
  "/repos/{owner}/{repo}",
  "/repos/{owner}/{repo}/git/commits/{commit_sha}",
  "/repos/{owner}/{repo}/compare/{basehead}",
  "/repos/{owner}/{repo}/branches/{branch}",
  "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel",
  "/repos/{owner}/{repo}/pulls",
  "/installation/repositories",
  "/app/hook/deliveries",
  "/app/hook/deliveries/{delivery_id}/attempts",
];

/** GitHub's limits that the simulator enforces like GitHub does. */
export const LIMITS = { checkText: 65_535, annotationsPerRequest: 50, filesListed: 3000, reviewersPerRequest: 15, perPage: 100 } as const;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: unknown[],
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;
type Handler = (ctx: { params: Record<string, string>; query: URLSearchParams; body: unknown; req: IncomingMessage; url: URL; base: string }) => {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
};

export class SimServer {
  readonly log: LoggedRequest[] = [];
  readonly faults = new Faults();
  /** OAuth web flow and GET /user (src/sim/oauth.ts), for dashboard sign-in. */
  readonly oauth = new SimOAuth();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly validator = new OpenApiValidator(SERVED);
  private readonly handlers = new Map<string, Handler>();
  url = "";
  /** Called whenever a check run is completed (for waiting without polling). */
  onCheckCompleted: ((run: SimCheckRun) => void) | undefined;

  /** Sends a recorded delivery again (set by the Simulator, which holds the webhook target). */
  redeliver: ((d: SimDelivery) => Promise<unknown>) | undefined;
  constructor(readonly state: SimState) {
    this.routes();
  }

  async listen(port = 0): Promise<string> {
    // GitHub's GraphQL schema takes about a second to load: begun now, it is ready by the app's first query.
    void schemaValidator();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "http://sim");
    const prefixed = url.pathname.startsWith("/api/v3/");
    const path = prefixed ? url.pathname.slice("/api/v3".length) : url.pathname;
    const method = req.method ?? "GET";
    // GraphQL: POST /graphql (api.github.com) or /api/graphql (GitHub Enterprise Server, where REST is under /api/v3).
    const graphql = method === "POST" && (path === "/graphql" || url.pathname === "/api/graphql");
    const match = graphql ? { template: "/graphql", params: {} } : this.validator.match(path);
    const route = `${method} ${match?.template ?? path}`;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    // --- OAuth hook (src/sim/oauth.ts): answered before the REST API's validation, like GitHub's web host ---
    if (this.oauth.serve(method, path, url, req, raw, res)) return;

    const finish = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.log.push({ method, route, url: url.pathname + url.search, status, at: started, ms: performance.now() - started });
      const text = status === 204 || status === 304 ? "" : JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-used": "1",
        "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
        "x-ratelimit-resource": "core",
        "x-github-request-id": `SIM:${this.log.length}`,
        ...headers,
      });
      res.end(text);
    };

    const fault = this.faults.take(method, match?.template ?? path);
    if (fault) {
      if (fault.latencyMs) await new Promise((r) => setTimeout(r, fault.latencyMs));
      if (this.applyFault(fault, req, res, finish)) return;
    }
    if (graphql) {
      if (!req.headers.authorization) return finish(401, { message: "This endpoint requires you to be authenticated." });
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return finish(400, { message: "Problems parsing JSON" });
      }
      // GitHub answers 200 with an `errors` list for a query it cannot run, invalid ones included.
      return finish(200, await answerGraphql(this.state, body));
    }
    try {
      if (!match || !this.validator.hasMethod(match.template, method)) throw new ApiError(404, "Not Found");
      if (!req.headers.authorization) throw new ApiError(401, "Requires authentication");
      let body: unknown;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new ApiError(400, "Problems parsing JSON");
        }
        const issues = this.validator.validateBody(match.template, method, body);
        if (issues.length) throw new ApiError(422, "Invalid request.", issues);
      }
      const handler = this.handlers.get(`${method} ${match.template}`);
      if (!handler) throw new ApiError(404, "Not Found");
      const base = `http://${req.headers.host ?? "127.0.0.1"}${prefixed ? "/api/v3" : ""}`;
      const out = handler({ params: match.params, query: url.searchParams, body, req, url, base });
      finish(out.status ?? 200, out.body, out.headers);
    } catch (error) {
      if (error instanceof ApiError) {
        finish(error.status, {
          message: error.message,
          ...(error.errors ? { errors: error.errors } : {}),
          documentation_url: "https://docs.github.com/rest",
          status: String(error.status),
        });
      } else {
        finish(500, { message: `simulator error: ${String(error)}` });
      }
    }
  }

  private applyFault(fault: Fault, _req: IncomingMessage, res: ServerResponse, finish: (s: number, b: unknown, h?: Record<string, string>) => void): boolean {
    switch (fault.kind) {
      case "latency":
        return false;
      case "drop":
        res.socket?.destroy();
        this.log.push({ method: _req.method ?? "", route: `${_req.method} dropped`, url: _req.url ?? "", status: 0, at: performance.now(), ms: 0 });
        return true;
      case "secondary":
        finish(
          403,
          {
            message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
          },
          { "retry-after": String(fault.retryAfter ?? 1) },
        );
        return true;
      case "primary":
        finish(
          403,
          { message: "API rate limit exceeded for installation.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" },
          {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + (fault.retryAfter ?? 1)),
          },
        );
        return true;
      case "status":
        finish(fault.status ?? 500, { message: `simulated ${fault.status ?? 500}` });
        return true;
    }
  }

  private on(method: string, template: string, handler: Handler): void {
    this.handlers.set(`${method} ${template}`, handler);
  }

  private routes(): void {
    const s = this.state;
    const full = (p: Record<string, string>) => `${p["owner"]}/${p["repo"]}`;
    const repoOf = (p: Record<string, string>) => {
      const r = s.repos.get(full(p));
      if (!r) throw new ApiError(404, "Not Found");
      return r;
    };
    const pullOf = (p: Record<string, string>, key = "pull_number") => {
      const pr = s.pulls.get(`${full(p)}#${p[key]}`);
      if (!pr) throw new ApiError(404, "Not Found");
      return pr;
    };

    this.on("GET", "/app", () => ({
      body: { id: s.app.id, slug: s.app.slug, name: s.app.name, owner: { login: "governor-dev", type: "Organization" }, events: [], permissions: {} },
    }));
    this.on("GET", "/app/installations", () => ({
      body: [...s.installations.entries()].map(([id, i]) => ({ id, account: { login: i.account, type: "Organization" } })),
    }));
    // The app's recent webhook deliveries, newest first, paged by an opaque cursor (GitHub's Link header, rel="next").
    this.on("GET", "/app/hook/deliveries", ({ req, query, base }) => {
      if (!/^bearer /i.test(String(req.headers.authorization))) throw new ApiError(401, "A JSON web token could not be decoded");
      const perPage = Math.min(LIMITS.perPage, Math.max(1, Number(query.get("per_page") ?? 30) || 30));
      const cursor = Number(query.get("cursor") ?? Number.POSITIVE_INFINITY);
      const older = [...s.deliveries].filter((d) => d.id < cursor).sort((a, b) => b.id - a.id);
      const pageOf = older.slice(0, perPage);
      const headers: Record<string, string> = {};
      if (older.length > perPage && pageOf.length > 0)
        headers["link"] = `<${base}/app/hook/deliveries?per_page=${perPage}&cursor=${pageOf[pageOf.length - 1]!.id}>; rel="next"`;
      return {
        headers,
        body: pageOf.map((d) => ({
          id: d.id,
          guid: d.guid,
          delivered_at: d.delivered_at,
          redelivery: d.redelivery,
          duration: 0.01,
          status: d.status,
          status_code: d.status_code,
          event: d.event,
          action: d.action,
          installation_id: d.installation_id,
          repository_id: d.repository_id,
        })),
      };
    });
    // Redeliver one: GitHub accepts (202) and sends it again, as a new attempt with the same guid.
    this.on("POST", "/app/hook/deliveries/{delivery_id}/attempts", ({ req, params }) => {
      if (!/^bearer /i.test(String(req.headers.authorization))) throw new ApiError(401, "A JSON web token could not be decoded");
      const d = s.deliveries.find((x) => x.id === Number(params["delivery_id"]));
      if (!d) throw new ApiError(404, "Not Found");
      void this.redeliver?.(d);
      return { status: 202, body: {} };
    });
    this.on("POST", "/app/installations/{installation_id}/access_tokens", ({ params }) => {
      if (!s.installations.has(Number(params["installation_id"]))) throw new ApiError(404, "Not Found");
      return {
        status: 201,
        body: {
          token: `ghs_sim${params["installation_id"]}`,
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
          permissions: {},
          repository_selection: "all",
        },
      };
    });
    this.on("GET", "/repos/{owner}/{repo}/installation", ({ params }) => {
      const inst = [...s.installations.entries()].find(([, i]) => i.account === params["owner"]);
      if (!inst) throw new ApiError(404, "Not Found");
      return { body: { id: inst[0], account: { login: inst[1].account } } };
    });

    this.on("GET", "/repos/{owner}/{repo}/contents/{path}", ({ params, query, req }) => {
      const name = full(params);
      repoOf(params);
      const sha = s.resolve(name, query.get("ref"));
      if (!sha) throw new ApiError(404, "No commit found for the ref");
      const text = s.repos
        .get(name)
        ?.trees.get(sha)
        ?.get(params["path"] ?? "");
      if (text === undefined) throw new ApiError(404, "Not Found");
      const blob = `${sha.slice(0, 20)}${Buffer.from(params["path"] ?? "")
        .toString("hex")
        .slice(0, 20)
        .padEnd(20, "0")}`;
      const etag = `"${blob}"`;
      if (req.headers["if-none-match"] === etag) return { status: 304, body: null, headers: { etag } };
      return {
        // Like GitHub: above 1 MB the JSON form carries no content (encoding "none"); only the raw media type would.
        body: {
          type: "file",
          size: Buffer.byteLength(text),
          name: params["path"]?.split("/").pop(),
          path: params["path"],
          sha: blob,
          ...(Buffer.byteLength(text) > 1_000_000 ? { encoding: "none", content: "" } : { encoding: "base64", content: Buffer.from(text).toString("base64") }),
        },
        headers: { etag },
      };
    });

    this.on("GET", "/repos/{owner}/{repo}", ({ params, base }) => {
      const repo = repoOf(params);
      if (s.hidden.has(full(params))) throw new ApiError(404, "Not Found");
      const html = base.replace(/\/api\/v3$/, "");
      return {
        body: {
          id: repo.id,
          node_id: `R_${repo.id}`,
          name: repo.name,
          full_name: full(params),
          private: true,
          owner: { login: repo.owner, type: "Organization" },
          html_url: `${html}/${full(params)}`,
          default_branch: repo.defaultBranch,
        },
      };
    });
    this.on("GET", "/repos/{owner}/{repo}/branches/{branch}", ({ params, base }) => {
      const repo = repoOf(params);
      const sha = repo.branches.get(params["branch"] ?? "");
      if (!sha) throw new ApiError(404, "Branch not found");
      const url = `${base}/repos/${full(params)}`;
      return {
        body: {
          name: params["branch"],
          protected: false,
          protection_url: `${url}/branches/${params["branch"]}/protection`,
          _links: { self: `${url}/branches/${params["branch"]}`, html: "" },
          commit: {
            sha,
            node_id: `C_${sha}`,
            url: `${url}/commits/${sha}`,
            html_url: "",
            comments_url: "",
            author: null,
            committer: null,
            parents: [],
            commit: { author: null, committer: null, message: "", comment_count: 0, tree: { sha, url: "" }, url: "" },
          },
        },
      };
    });
    // Cancelling an Actions run (a runaway agent session): 202, recorded for tests; needs actions: write on GitHub.
    this.on("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel", ({ params }) => {
      repoOf(params);
      s.cancelledRuns.push({ repo: full(params), runId: Number(params["run_id"]) });
      return { status: 202, body: {} };
    });
    this.on("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}", ({ params }) => {
      const repo = repoOf(params);
      const sha = params["commit_sha"] ?? "";
      if (!repo.trees.has(sha)) throw new ApiError(404, "Not Found");
      return {
        body: {
          sha,
          node_id: `C_${sha}`,
          url: "",
          html_url: "",
          message: "commit",
          tree: { sha, url: "" },
          parents: [],
          author: { name: "sim", email: "sim@example.com", date: new Date().toISOString() },
          committer: { name: "sim", email: "sim@example.com", date: new Date().toISOString() },
          verification: { verified: false, reason: "unsigned", signature: null, payload: null, verified_at: null },
        },
      };
    });
    // GitHub's comparison of two commits (three dots: from their merge base). Commits are paged with per_page/page,
    // all of them (unlike the PR commits API's 250); total_commits counts every one.
    this.on("GET", "/repos/{owner}/{repo}/compare/{basehead}", ({ params, query }) => {
      repoOf(params);
      const [baseSha, headSha] = (params["basehead"] ?? "").split("...");
      const pr = [...s.pulls.values()].find((p) => p.repo === full(params) && p.head.sha === headSha && p.base.sha === baseSha);
      if (!pr) throw new ApiError(404, "Not Found");
      const perPage = Math.min(LIMITS.perPage, Math.max(1, Number(query.get("per_page") ?? 250) || 250));
      const pageNo = Math.max(1, Number(query.get("page") ?? 1) || 1);
      const commits = pr.commits.slice((pageNo - 1) * perPage, pageNo * perPage).map(renderCommit);
      return {
        body: {
          url: "",
          html_url: "",
          permalink_url: "",
          diff_url: "",
          patch_url: "",
          base_commit: { sha: baseSha },
          merge_base_commit: { sha: baseSha },
          status: "ahead",
          ahead_by: pr.commits.length,
          behind_by: 0,
          total_commits: pr.commits.length,
          commits,
          files: pageNo === 1 ? pr.files : [],
        },
      };
    });
    // Open (or closed) PRs of a repository, optionally into one base branch, oldest first like GitHub's default sort is not: newest first.
    this.on("GET", "/repos/{owner}/{repo}/pulls", ({ params, query, url, base }) => {
      const repo = repoOf(params);
      const state = query.get("state") ?? "open";
      const into = query.get("base");
      const pulls = [...s.pulls.values()]
        .filter((p) => p.repo === full(params) && (state === "all" || p.state === state) && (!into || p.base.ref === into))
        .sort((a, b) => b.number - a.number);
      return page(
        pulls.map((p) => renderPull(p, repo, base)),
        query,
        url,
        base,
      );
    });
    // The repositories an installation token can reach: its account's, less those hidden from the app.
    this.on("GET", "/installation/repositories", ({ req, query, url, base }) => {
      const id = Number(/ghs_sim(\d+)/.exec(String(req.headers["authorization"] ?? ""))?.[1]);
      const account = s.installations.get(id)?.account;
      if (!account) throw new ApiError(401, "Bad credentials");
      const repos = [...s.repos.values()]
        .filter((r) => r.owner === account && !s.hidden.has(`${r.owner}/${r.name}`))
        .map((r) => ({
          id: r.id,
          name: r.name,
          full_name: `${r.owner}/${r.name}`,
          private: true,
          owner: { login: r.owner, type: "Organization" },
          default_branch: r.defaultBranch,
        }));
      const paged = page(repos, query, url, base);
      return { ...paged, body: { total_count: repos.length, repositories: paged.body } };
    });
    this.on("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", ({ params, base }) => ({ body: renderPull(pullOf(params), repoOf(params), base) }));
    this.on("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", ({ params, query, url, base }) =>
      page(pullOf(params).files.slice(0, LIMITS.filesListed), query, url, base),
    );
    this.on("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", ({ params, query, url, base }) =>
      page(
        pullOf(params).reviews.map((r) => ({ id: r.id, user: r.user, state: r.state, commit_id: r.commit_id, submitted_at: r.submitted_at, body: r.body })),
        query,
        url,
        base,
      ),
    );
    this.on("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", ({ params, query, url, base }) =>
      page(pullOf(params).commits.slice(0, 250).map(renderCommit), query, url, base),
    );
    this.on("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls", ({ params, base }) => {
      const repo = repoOf(params);
      return {
        body: [...s.pulls.values()].filter((p) => p.repo === full(params) && p.head.sha === params["commit_sha"]).map((p) => renderPull(p, repo, base)),
      };
    });
    this.on("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", ({ params, body, base }) => {
      const pr = pullOf(params);
      const b = body as { reviewers?: string[]; team_reviewers?: string[] };
      const users = b.reviewers ?? [];
      const teams = b.team_reviewers ?? [];
      if (users.length + teams.length > LIMITS.reviewersPerRequest) throw new ApiError(422, "Reviews may only be requested from 15 reviewers at a time.");
      if (users.some((u) => u.toLowerCase() === pr.user.login.toLowerCase())) throw new ApiError(422, "Review cannot be requested from pull request author.");
      for (const t of teams)
        if (!s.teams.has(`${params["owner"]}/${t}`)) throw new ApiError(422, `Reviews may only be requested from collaborators. Team ${t} does not exist.`);
      pr.requestedUsers = [...new Set([...pr.requestedUsers, ...users])];
      pr.requestedTeams = [...new Set([...pr.requestedTeams, ...teams])];
      return { status: 201, body: renderPull(pr, repoOf(params), base) };
    });

    this.on("GET", "/orgs/{org}/teams/{team_slug}/members", ({ params, query, url, base }) => {
      const members = s.teams.get(`${params["org"]}/${params["team_slug"]}`);
      if (!members) throw new ApiError(404, "Not Found");
      return page(
        members.map((login) => ({ login, type: "User", id: hashId(login) })),
        query,
        url,
        base,
      );
    });
    this.on("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", ({ params }) => {
      const members = s.teams.get(`${params["org"]}/${params["team_slug"]}`);
      if (!members?.includes(params["username"] ?? "")) throw new ApiError(404, "Not Found");
      return { body: { state: "active", role: "member" } };
    });

    this.on("POST", "/repos/{owner}/{repo}/check-runs", ({ params, body }) => {
      repoOf(params);
      const b = body as Json;
      checkOutput(b["output"]);
      const status = (b["status"] as SimCheckRun["status"] | undefined) ?? (b["conclusion"] ? "completed" : "queued");
      const run: SimCheckRun = {
        id: s.nextId(),
        repo: full(params),
        name: String(b["name"]),
        head_sha: String(b["head_sha"]),
        status,
        conclusion: (b["conclusion"] as string | undefined) ?? null,
        details_url: (b["details_url"] as string | undefined) ?? null,
        started_at: (b["started_at"] as string | undefined) ?? new Date().toISOString(),
        completed_at: (b["completed_at"] as string | undefined) ?? null,
        output: { title: null, summary: null, text: null, annotations: [] },
        app_id: s.app.id,
      };
      applyOutput(run, b["output"]);
      applyActions(run, b["actions"]);
      s.checkRuns.set(run.id, run);
      if (run.status === "completed") this.completed(run);
      return { status: 201, body: renderCheck(run) };
    });
    this.on("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", ({ params, body }) => {
      const run = s.checkRuns.get(Number(params["check_run_id"]));
      if (!run || run.repo !== full(params)) throw new ApiError(404, "Not Found");
      const b = body as Json;
      checkOutput(b["output"]);
      // GitHub: once a check run is completed, neither its status nor its conclusion can change; a new run is needed.
      if (run.status === "completed" && (b["status"] !== undefined || b["conclusion"] !== undefined)) {
        throw new ApiError(422, "Validation Failed", [
          { resource: "CheckRun", code: "invalid", message: "a completed check run cannot change its status or conclusion" },
        ]);
      }
      if (b["status"]) run.status = b["status"] as SimCheckRun["status"];
      if (b["conclusion"]) {
        // The body was checked against GitHub's schema above: these are strings.
        run.conclusion = b["conclusion"] as string;
        run.status = "completed";
      }
      if (b["details_url"]) run.details_url = b["details_url"] as string;
      if (b["completed_at"]) run.completed_at = b["completed_at"] as string;
      applyOutput(run, b["output"]);
      applyActions(run, b["actions"]);
      if (run.status === "completed") this.completed(run);
      return { body: renderCheck(run) };
    });
    this.on("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", ({ params, query }) => {
      const sha = s.resolve(full(params), params["ref"] ?? null) ?? params["ref"];
      const name = query.get("check_name");
      const runs = s
        .checkRunsFor(full(params), sha)
        .filter((r) => !name || r.name === name)
        .sort((a, b) => b.id - a.id);
      return { body: { total_count: runs.length, check_runs: runs.map(renderCheck) } };
    });

    this.on("GET", "/repos/{owner}/{repo}/labels/{name}", ({ params }) => {
      const label = repoOf(params).labels.get(params["name"] ?? "");
      if (!label) throw new ApiError(404, "Not Found");
      return { body: label };
    });
    this.on("POST", "/repos/{owner}/{repo}/labels", ({ params, body }) => {
      const repo = repoOf(params);
      const b = body as { name: string; color?: string; description?: string };
      if (repo.labels.has(b.name)) throw new ApiError(422, "Validation Failed", [{ resource: "Label", code: "already_exists", field: "name" }]);
      const label = { name: b.name, color: b.color ?? "ededed", description: b.description ?? null };
      repo.labels.set(b.name, label);
      return { status: 201, body: label };
    });
    this.on("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels", ({ params }) => {
      const pr = pullOf(params, "issue_number");
      return { body: pr.labels.map((name) => repoOf(params).labels.get(name) ?? { name }) };
    });
    this.on("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", ({ params, body }) => {
      const repo = repoOf(params);
      const pr = pullOf(params, "issue_number");
      const b = body as { labels?: Array<string | { name: string }> } | string[];
      const names = (Array.isArray(b) ? b : (b.labels ?? [])).map((l) => (typeof l === "string" ? l : l.name));
      for (const name of names) {
        if (!repo.labels.has(name)) repo.labels.set(name, { name, color: "ededed", description: null }); // GitHub creates missing labels
        if (!pr.labels.includes(name)) pr.labels.push(name);
      }
      return { body: pr.labels.map((name) => repo.labels.get(name)) };
    });
    this.on("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", ({ params }) => {
      const pr = pullOf(params, "issue_number");
      if (!pr.labels.includes(params["name"] ?? "")) throw new ApiError(404, "Label does not exist");
      pr.labels = pr.labels.filter((l) => l !== params["name"]);
      return { body: pr.labels.map((name) => repoOf(params).labels.get(name) ?? { name }) };
    });
    this.on("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ({ params, query, url, base }) =>
      page(
        s.comments.filter((c) => c.repo === full(params) && c.issue === Number(params["issue_number"])),
        query,
        url,
        base,
      ),
    );
    this.on("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", ({ params, body }) => {
      pullOf(params, "issue_number");
      const comment = {
        id: s.nextId(),
        repo: full(params),
        issue: Number(params["issue_number"]),
        user: { login: `${s.app.slug}[bot]`, type: "Bot" as const },
        body: String((body as Json)["body"]),
        created_at: new Date().toISOString(),
      };
      s.comments.push(comment);
      return { status: 201, body: comment };
    });
  }

  private completed(run: SimCheckRun): void {
    run.completedAtMs = performance.now();
    this.onCheckCompleted?.(run);
  }
}

function renderCommit(c: SimPull["commits"][number]): Json {
  return {
    sha: c.sha,
    commit: { message: c.message, author: { name: c.author.name, email: c.author.email, date: new Date().toISOString() } },
    author: c.author.login ? { login: c.author.login, type: c.author.login.endsWith("[bot]") ? "Bot" : "User" } : null,
    committer: null,
  };
}

function hashId(login: string): number {
  let h = 7;
  for (const ch of login) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000_007;
  return h;
}

/** GitHub's page/per_page pagination with a Link header. */
function page(items: unknown[], query: URLSearchParams, url: URL, base: string): { body: unknown; headers: Record<string, string> } {
  const perPage = Math.min(LIMITS.perPage, Math.max(1, Number(query.get("per_page") ?? 30) || 30));
  const pageNo = Math.max(1, Number(query.get("page") ?? 1) || 1);
  const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
  const headers: Record<string, string> = {};
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const q = new URLSearchParams(query);
    q.set("per_page", String(perPage));
    q.set("page", String(n));
    return `<${base}${url.pathname.replace(/^\/api\/v3/, "")}?${q.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo < last) links.push(link(pageNo + 1, "next"), link(last, "last"));
  if (pageNo > 1) links.push(link(1, "first"), link(pageNo - 1, "prev"));
  if (links.length) headers["link"] = links.join(", ");
  return { body: slice, headers };
}

/** GitHub's limits on check run actions: at most 3; label 20, description 40, identifier 20 characters. */
function applyActions(run: SimCheckRun, actions: unknown): void {
  if (actions === undefined) return;
  const list = Array.isArray(actions) ? (actions as Json[]) : [];
  const bad =
    !Array.isArray(actions) ||
    list.length > 3 ||
    list.some(
      (a) =>
        typeof a["label"] !== "string" ||
        typeof a["description"] !== "string" ||
        typeof a["identifier"] !== "string" ||
        a["label"].length > 20 ||
        a["description"].length > 40 ||
        a["identifier"].length > 20,
    );
  if (bad)
    throw new ApiError(422, "Validation Failed", [
      { resource: "CheckRun", code: "invalid", field: "actions", message: "at most 3 actions; label ≤ 20, description ≤ 40, identifier ≤ 20 characters" },
    ]);
  run.actions = list.map((a) => ({ label: String(a["label"]), description: String(a["description"]), identifier: String(a["identifier"]) }));
}

function checkOutput(output: unknown): void {
  if (!output || typeof output !== "object") return;
  const o = output as Json;
  for (const key of ["title", "summary", "text"]) {
    const v = o[key];
    if (typeof v === "string" && v.length > LIMITS.checkText) {
      throw new ApiError(422, "Invalid request.", [
        { resource: "CheckRun", field: `output.${key}`, code: "invalid", message: `output.${key} is too long (maximum is ${LIMITS.checkText} characters)` },
      ]);
    }
  }
  if (Array.isArray(o["annotations"]) && o["annotations"].length > LIMITS.annotationsPerRequest) {
    throw new ApiError(422, "Invalid request.", [
      {
        resource: "CheckRun",
        field: "output.annotations",
        code: "invalid",
        message: `Only ${LIMITS.annotationsPerRequest} annotations are allowed per request`,
      },
    ]);
  }
}

function applyOutput(run: SimCheckRun, output: unknown): void {
  if (!output || typeof output !== "object") return;
  const o = output as { title?: string; summary?: string; text?: string; annotations?: SimCheckRun["output"]["annotations"] };
  if (o.title !== undefined) run.output.title = o.title;
  if (o.summary !== undefined) run.output.summary = o.summary;
  if (o.text !== undefined) run.output.text = o.text;
  if (o.annotations) run.output.annotations.push(...o.annotations); // GitHub appends annotations across updates
}

function renderCheck(run: SimCheckRun): Json {
  return {
    id: run.id,
    name: run.name,
    head_sha: run.head_sha,
    status: run.status,
    conclusion: run.conclusion,
    details_url: run.details_url,
    started_at: run.started_at,
    completed_at: run.completed_at,
    app: { id: run.app_id, slug: "governor" },
    output: { title: run.output.title, summary: run.output.summary, text: run.output.text, annotations_count: run.output.annotations.length },
    ...(run.actions ? { actions: run.actions } : {}),
    pull_requests: [],
  };
}

export function renderPull(pr: SimPull, repo: SimRepo, base: string): Json {
  const html = base.replace(/\/api\/v3$/, "");
  const repoJson = {
    id: repo.id,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: true,
    owner: { login: repo.owner, type: "Organization" },
    html_url: `${html}/${repo.owner}/${repo.name}`,
    default_branch: repo.defaultBranch,
  };
  return {
    number: pr.number,
    state: pr.state,
    draft: pr.draft,
    title: pr.title,
    body: pr.body,
    user: pr.user,
    head: { ref: pr.head.ref, sha: pr.head.sha, repo: repoJson },
    base: { ref: pr.base.ref, sha: pr.base.sha, repo: repoJson },
    labels: pr.labels.map((name) => repo.labels.get(name) ?? { name }),
    requested_reviewers: pr.requestedUsers.map((login) => ({ login, type: "User" })),
    requested_teams: pr.requestedTeams.map((slug) => ({ slug, name: slug })),
    changed_files: pr.files.length,
    commits: pr.commits.length,
    additions: pr.files.reduce((n, f) => n + f.additions, 0),
    deletions: pr.files.reduce((n, f) => n + f.deletions, 0),
    created_at: pr.created_at,
    updated_at: pr.updated_at,
    html_url: `${html}/${repo.owner}/${repo.name}/pull/${pr.number}`,
  };
}
