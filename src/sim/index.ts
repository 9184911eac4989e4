// The local GitHub simulator: a REST API on loopback, a control API to act as users and agents, and a webhook sender.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { SimServer } from "./server.js";
import { type Account, newSha, type SimCheckRun, type SimFile, type SimPull, type SimReview, SimState } from "./state.js";
import {
  checkRunRequestedAction,
  checkRunRerequested,
  issueCommentEvent,
  mergeGroupEvent,
  pushEvent,
  type PayloadContext,
  pullRequestEvent,
  reviewEvent,
  type SentDelivery,
  sendWebhook,
  type Webhook,
  workflowJobEvent,
} from "./webhooks.js";

export type { SimCheckRun, SimPull } from "./state.js";
export type { Webhook } from "./webhooks.js";

export interface FileChange {
  path: string;
  /** New text (omitted for a removal). */
  content?: string;
  status?: SimFile["status"];
  previous_path?: string;
  additions?: number;
  deletions?: number;
}

export interface OpenPullRequest {
  repo: string;
  author: Account;
  branch: string;
  files: FileChange[];
  title?: string;
  body?: string;
  labels?: string[];
  draft?: boolean;
  /** Commit authors/co-author e-mails to record on the PR's commits. */
  commitAuthors?: Array<{ name: string; email: string; login?: string }>;
  commitMessage?: string;
  createdAt?: string;
}

export class Simulator {
  readonly state = new SimState();
  readonly server = new SimServer(this.state);
  /** Where the app's webhooks go, and their secret; set with `target()`. */
  private hook: { url: string; secret: string } | undefined;
  private readonly waiters: Array<{ test: (run: SimCheckRun) => boolean; resolve: (run: SimCheckRun) => void }> = [];

  constructor() {
    this.server.redeliver = (d) => this.deliver(d.webhook, d.guid, true);
    this.server.onCheckCompleted = (run) => {
      for (const w of this.waiters.filter((x) => x.test(run))) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(run);
      }
    };
  }

  get url(): string {
    return this.server.url;
  }

  /** host:port, for GHE_HOST. */
  get host(): string {
    return this.server.url.replace(/^http:\/\//, "");
  }

  get apiUrl(): string {
    return `${this.server.url}/api/v3`;
  }

  async start(port = 0): Promise<this> {
    await this.server.listen(port);
    return this;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  target(url: string, secret: string): void {
    this.hook = { url, secret };
  }

  setApp(id: number, slug: string): void {
    this.state.app.id = id;
    this.state.app.slug = slug;
  }

  addInstallation(id: number, account: string): void {
    this.state.addInstallation(id, account);
  }

  addRepo(owner: string, name: string, files: Record<string, string> = {}, defaultBranch = "main"): void {
    this.state.addRepo({ owner, name, files, defaultBranch });
  }

  addTeam(team: string, members: string[]): void {
    this.state.teams.set(team, [...members]);
  }

  /** Commits to a branch directly (a merge to main, say): returns the new SHA. */
  commit(repo: string, branch: string, write: Record<string, string>, remove: string[] = []): string {
    return this.state.commit(repo, branch, { write, remove });
  }

  private context(repo: string, sender: { login: string; type: string }): PayloadContext {
    const r = this.state.repo(repo);
    const installation = [...this.state.installations.entries()].find(([, i]) => i.account === r.owner)?.[0];
    if (installation === undefined) throw new Error(`no installation for ${r.owner}: call addInstallation first`);
    return { repo: r, installationId: installation, htmlBase: this.server.url, apiBase: this.apiUrl, sender };
  }

  private applyFiles(pr: SimPull, files: FileChange[]): void {
    const write: Record<string, string> = {};
    const remove: string[] = [];
    for (const f of files) {
      if (f.status === "removed") remove.push(f.path);
      else write[f.path] = f.content ?? `// ${f.path}\n`;
      if (f.previous_path) remove.push(f.previous_path);
    }
    pr.head.sha = this.state.commit(pr.repo, pr.head.ref, { write, remove }, pr.base.ref);
    const byPath = new Map(pr.files.map((f) => [f.filename, f]));
    for (const f of files) {
      const lines = (f.content ?? "").split("\n").length;
      byPath.set(f.path, {
        filename: f.path,
        status: f.status ?? (f.previous_path ? "renamed" : "modified"),
        additions: f.additions ?? (f.status === "removed" ? 0 : lines),
        deletions: f.deletions ?? 0,
        ...(f.previous_path ? { previous_filename: f.previous_path } : {}),
      });
    }
    pr.files = [...byPath.values()];
    pr.updated_at = new Date().toISOString();
  }

  /** Opens a PR as `author` would; returns the PR and the `pull_request.opened` webhook GitHub would send. */
  openPullRequest(o: OpenPullRequest): { pr: SimPull; webhook: Webhook } {
    const repo = this.state.repo(o.repo);
    const number = Math.max(0, ...[...this.state.pulls.values()].filter((p) => p.repo === o.repo).map((p) => p.number)) + 1;
    const baseSha = repo.branches.get(repo.defaultBranch)!;
    const now = o.createdAt ?? new Date().toISOString();
    const pr: SimPull = {
      number,
      repo: o.repo,
      title: o.title ?? `Change by ${o.author.login}`,
      body: o.body ?? "",
      user: o.author,
      head: { ref: o.branch, sha: baseSha },
      base: { ref: repo.defaultBranch, sha: baseSha },
      draft: o.draft ?? false,
      state: "open",
      labels: [...(o.labels ?? [])],
      files: [],
      reviews: [],
      commits: [],
      requestedUsers: [],
      requestedTeams: [],
      created_at: now,
      updated_at: now,
    };
    for (const l of pr.labels) if (!repo.labels.has(l)) repo.labels.set(l, { name: l, color: "ededed", description: null });
    this.applyFiles(pr, o.files);
    const authors = o.commitAuthors ?? [{ name: o.author.login, email: `${o.author.login}@users.noreply.github.com`, login: o.author.login }];
    pr.commits.push({ sha: pr.head.sha, message: o.commitMessage ?? pr.title, author: authors[0]! });
    for (const extra of authors.slice(1)) pr.commits[0]!.message += `\n\nCo-authored-by: ${extra.name} <${extra.email}>`;
    this.state.pulls.set(`${o.repo}#${number}`, pr);
    return { pr, webhook: pullRequestEvent(this.context(o.repo, o.author), pr, "opened") };
  }

  /**
   * Proposes the head of an open PR again, into another base branch: a second open PR on the same head commit, as
   * GitHub allows. Returns it and its `pull_request.opened` webhook.
   */
  proposeAgain(repo: string, number: number, baseBranch: string, author?: Account): { pr: SimPull; webhook: Webhook } {
    const first = this.state.pull(repo, number);
    const r = this.state.repo(repo);
    const baseSha = r.branches.get(baseBranch);
    if (!baseSha) throw new Error(`no branch ${baseBranch} in ${repo}`);
    const next = Math.max(0, ...[...this.state.pulls.values()].filter((p) => p.repo === repo).map((p) => p.number)) + 1;
    const now = new Date().toISOString();
    const pr: SimPull = {
      ...structuredClone(first),
      number: next,
      user: author ?? first.user,
      base: { ref: baseBranch, sha: baseSha },
      reviews: [],
      requestedUsers: [],
      requestedTeams: [],
      created_at: now,
      updated_at: now,
    };
    this.state.pulls.set(`${repo}#${next}`, pr);
    return { pr, webhook: pullRequestEvent(this.context(repo, pr.user), pr, "opened") };
  }

  /**
   * Adds PRs to the merge queue, in order: one merge group per PR, each on `gh-readonly-queue/{base}/pr-{n}-{sha}` and
   * holding the PRs ahead of it too, as GitHub builds them. Returns each group's head SHA and `merge_group` webhook.
   */
  enqueue(repo: string, numbers: number[]): Array<{ headSha: string; number: number; webhook: Webhook }> {
    const r = this.state.repo(repo);
    const baseSha = r.branches.get(r.defaultBranch)!;
    const out: Array<{ headSha: string; number: number; webhook: Webhook }> = [];
    let tree = new Map(r.trees.get(baseSha));
    for (const number of numbers) {
      const pr = this.state.pull(repo, number);
      for (const [path, text] of r.trees.get(pr.head.sha) ?? []) tree.set(path, text);
      const branch = `gh-readonly-queue/${r.defaultBranch}/pr-${number}-${pr.head.sha}`;
      const headSha = newSha(`${repo}:${branch}`);
      r.trees.set(headSha, tree);
      tree = new Map(tree);
      r.branches.set(branch, headSha);
      out.push({
        headSha,
        number,
        webhook: mergeGroupEvent(this.context(repo, { login: "mia", type: "User" }), {
          headSha,
          headRef: `refs/heads/${branch}`,
          baseSha,
          baseRef: `refs/heads/${r.defaultBranch}`,
          message: `Merge pull request #${number}`,
        }),
      });
    }
    return out;
  }

  /** Pushes new changes to the PR's branch: a new head SHA and the `synchronize` webhook. */
  push(repo: string, number: number, files: FileChange[]): { sha: string; webhook: Webhook } {
    const pr = this.state.pull(repo, number);
    const before = pr.head.sha;
    this.applyFiles(pr, files);
    pr.commits.push({ sha: pr.head.sha, message: "push", author: pr.commits[0]?.author ?? { name: pr.user.login, email: "" } });
    return { sha: pr.head.sha, webhook: pullRequestEvent(this.context(repo, pr.user), pr, "synchronize", { before, after: pr.head.sha }) };
  }

  review(repo: string, number: number, reviewer: Account, state: SimReview["state"], body = ""): { review: SimReview; webhook: Webhook } {
    const pr = this.state.pull(repo, number);
    const review: SimReview = { id: this.state.nextId(), user: reviewer, state, commit_id: pr.head.sha, submitted_at: new Date().toISOString(), body };
    pr.reviews.push(review);
    pr.requestedUsers = pr.requestedUsers.filter((u) => u !== reviewer.login);
    return { review, webhook: reviewEvent(this.context(repo, reviewer), pr, review, "submitted") };
  }

  dismissReview(repo: string, number: number, reviewId: number, by: Account): Webhook {
    const pr = this.state.pull(repo, number);
    const review = pr.reviews.find((r) => r.id === reviewId);
    if (!review) throw new Error(`no review ${reviewId}`);
    review.state = "DISMISSED";
    return reviewEvent(this.context(repo, by), pr, review, "dismissed");
  }

  setDraft(repo: string, number: number, draft: boolean): Webhook {
    const pr = this.state.pull(repo, number);
    pr.draft = draft;
    return pullRequestEvent(this.context(repo, pr.user), pr, draft ? "converted_to_draft" : "ready_for_review");
  }

  label(repo: string, number: number, name: string, by: Account, add = true): Webhook {
    const pr = this.state.pull(repo, number);
    pr.labels = add ? [...new Set([...pr.labels, name])] : pr.labels.filter((l) => l !== name);
    return pullRequestEvent(this.context(repo, by), pr, add ? "labeled" : "unlabeled", {
      label: { name, color: "ededed", id: 1, node_id: "L", url: "", default: false, description: null },
    });
  }

  /**
   * An Actions run that finished with one job (an agent's session: the Copilot cloud agent runs as the workflow
   * "Copilot cloud agent", actor Copilot), `minutes` long, ending now unless `completedAt` says otherwise; returns the
   * `workflow_job.completed` webhook GitHub would send.
   */
  workflowJob(o: {
    repo: string;
    workflow: string;
    branch: string;
    minutes: number;
    completedAt?: string;
    actor?: Account;
    jobName?: string;
    inProgress?: boolean;
    runId?: number;
    jobId?: number;
  }): { runId: number; jobId: number; webhook: Webhook } {
    const repo = this.state.repo(o.repo);
    const end = o.completedAt ?? new Date().toISOString();
    const started = new Date(Date.parse(end) - o.minutes * 60_000).toISOString();
    // In progress: started `minutes` ago, not completed yet.
    const completed = o.inProgress ? null : end;
    const runId = o.runId ?? this.state.nextId();
    const jobId = o.jobId ?? this.state.nextId();
    const headSha = repo.branches.get(o.branch) ?? repo.branches.get(repo.defaultBranch)!;
    const webhook = workflowJobEvent(this.context(o.repo, o.actor ?? { login: "Copilot", type: "Bot" }), {
      id: jobId,
      runId,
      workflow: o.workflow,
      name: o.jobName ?? "copilot",
      branch: o.branch,
      headSha,
      startedAt: started,
      completedAt: completed,
    });
    return { runId, jobId, webhook };
  }

  /** Commits to a branch (a merged policy edit, say) and returns the `push` delivery GitHub would send. */
  pushToBranch(
    repo: string,
    branch: string,
    write: Record<string, string>,
    by: Account = { login: "octocat", type: "User" },
  ): { sha: string; webhook: Webhook } {
    const r = this.state.repo(repo);
    const before = r.branches.get(branch) ?? "0".repeat(40);
    const old = r.trees.get(before) ?? new Map<string, string>();
    const sha = this.state.commit(repo, branch, { write });
    const paths = Object.keys(write);
    return {
      sha,
      webhook: pushEvent(this.context(repo, by), {
        branch,
        before,
        after: sha,
        added: paths.filter((p) => !old.has(p)),
        modified: paths.filter((p) => old.has(p)),
        removed: [],
      }),
    };
  }

  /** A comment on the PR by `by` (stored like GitHub's), and its `issue_comment.created` delivery. */
  comment(repo: string, number: number, by: Account, body: string): Webhook {
    const pr = this.state.pull(repo, number);
    const comment = { id: this.state.nextId(), repo, issue: number, user: { login: by.login, type: by.type }, body, created_at: new Date().toISOString() };
    this.state.comments.push(comment);
    return issueCommentEvent(this.context(repo, by), pr, comment);
  }

  /** A button (check run action) on the PR's latest `governance` check, pressed by `by`. */
  pressAction(repo: string, number: number, by: Account, identifier: string): Webhook {
    const pr = this.state.pull(repo, number);
    const run = this.latestCheck(repo, number);
    return checkRunRequestedAction(this.context(repo, by), pr, run?.id ?? 0, this.state.app.id, identifier);
  }

  /** Comments on the PR, oldest first. */
  commentsOn(repo: string, number: number): Array<{ user: string; body: string }> {
    return this.state.comments.filter((c) => c.repo === repo && c.issue === number).map((c) => ({ user: c.user.login, body: c.body }));
  }

  /** The Re-run button on the PR's latest `governance` check. */
  rerun(repo: string, number: number, by: Account): Webhook {
    const pr = this.state.pull(repo, number);
    const run = this.latestCheck(repo, number);
    return checkRunRerequested(this.context(repo, by), pr, run?.id ?? 0, this.state.app.id);
  }

  async send(webhook: Webhook, opts: { deliveryId?: string; signature?: string | null; secret?: string } = {}): Promise<SentDelivery> {
    if (!this.hook) throw new Error("no webhook target: call target(url, secret) first");
    // A forged request (another secret, a hand-made signature) is not GitHub's: it never appears in the delivery log.
    if (opts.secret !== undefined || opts.signature !== undefined) {
      return sendWebhook({
        url: this.hook.url,
        secret: opts.secret ?? this.hook.secret,
        webhook,
        ...(opts.deliveryId ? { deliveryId: opts.deliveryId } : {}),
        ...(opts.signature !== undefined ? { signature: opts.signature } : {}),
      });
    }
    return this.deliver(webhook, opts.deliveryId ?? randomUUID(), false);
  }

  /**
   * Sends and records one attempt like GitHub's delivery log: a receiver that cannot be reached (connection refused)
   * is a failed delivery with status code 0, kept for redelivery, not an error of the sender.
   */
  async deliver(webhook: Webhook, guid: string, redelivery: boolean): Promise<SentDelivery> {
    if (!this.hook) throw new Error("no webhook target: call target(url, secret) first");
    const payload = webhook.payload as { action?: unknown; installation?: { id?: unknown }; repository?: { id?: unknown } };
    const record = (status_code: number, status: string) =>
      this.state.deliveries.push({
        id: this.state.nextId(),
        guid,
        delivered_at: new Date().toISOString(),
        redelivery,
        status_code,
        status,
        event: webhook.event,
        action: typeof payload.action === "string" ? payload.action : null,
        installation_id: typeof payload.installation?.id === "number" ? payload.installation.id : null,
        repository_id: typeof payload.repository?.id === "number" ? payload.repository.id : null,
        webhook,
      });
    try {
      const sent = await sendWebhook({ url: this.hook.url, secret: this.hook.secret, webhook, deliveryId: guid });
      record(sent.status, sent.status >= 200 && sent.status < 300 ? "OK" : `Invalid HTTP Response: ${sent.status}`);
      return sent;
    } catch (error) {
      record(0, "failed to connect to host");
      return { id: guid, status: 0, body: String(error), ms: 0 };
    }
  }

  latestCheck(repo: string, number: number, name = "governance"): SimCheckRun | undefined {
    const pr = this.state.pull(repo, number);
    return this.state
      .checkRunsFor(repo, pr.head.sha)
      .filter((c) => c.name === name)
      .sort((a, b) => b.id - a.id)[0];
  }

  /** Resolves when a check run for the PR's current head completes (after `since`, a check-run id). */
  waitForCheck(repo: string, number: number, opts: { timeoutMs?: number; after?: number } = {}): Promise<SimCheckRun> {
    const pr = this.state.pull(repo, number);
    const test = (run: SimCheckRun) =>
      run.repo === repo && run.head_sha === pr.head.sha && run.status === "completed" && (opts.after === undefined || (run.completedAtMs ?? 0) > opts.after);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.findIndex((w) => w.resolve === done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no completed governance check for ${repo}#${number} at ${pr.head.sha.slice(0, 7)} within ${opts.timeoutMs ?? 10_000} ms`));
      }, opts.timeoutMs ?? 10_000);
      const done = (run: SimCheckRun) => {
        clearTimeout(timer);
        resolve(run);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  labelsOn(repo: string, number: number): string[] {
    return [...this.state.pull(repo, number).labels];
  }

  requestedReviewers(repo: string, number: number): { users: string[]; teams: string[] } {
    const pr = this.state.pull(repo, number);
    return { users: [...pr.requestedUsers], teams: [...pr.requestedTeams] };
  }

  requestLog() {
    return this.server.log;
  }

  get faults() {
    return this.server.faults;
  }
}

export async function startSimulator(port = 0): Promise<Simulator> {
  return new Simulator().start(port);
}

const ScenarioSchema = z.strictObject({
  app: z.strictObject({ id: z.number().int(), slug: z.string() }).optional(),
  installations: z.array(z.strictObject({ id: z.number().int(), account: z.string() })).default([]),
  teams: z.record(z.string(), z.array(z.string())).default({}),
  repos: z
    .array(
      z.strictObject({
        owner: z.string(),
        name: z.string(),
        default_branch: z.string().default("main"),
        files: z.record(z.string(), z.string()).default({}),
        /** Files read from disk, relative to the scenario file: path in the repo -> path on disk. */
        files_from: z.record(z.string(), z.string()).default({}),
      }),
    )
    .default([]),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Seeds the simulator from a scenario file (JSON) in fixtures/sim/. */
export function loadScenario(sim: Simulator, file: string): Scenario {
  const scenario = ScenarioSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  if (scenario.app) sim.setApp(scenario.app.id, scenario.app.slug);
  for (const i of scenario.installations) sim.addInstallation(i.id, i.account);
  for (const [team, members] of Object.entries(scenario.teams)) sim.addTeam(team, members);
  for (const r of scenario.repos) {
    const files = { ...r.files };
    for (const [path, disk] of Object.entries(r.files_from)) files[path] = readFileSync(new URL(disk, `file://${file}`), "utf8");
    sim.addRepo(r.owner, r.name, files, r.default_branch);
  }
  return scenario;
}

export { newSha };
