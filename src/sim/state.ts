// The simulator's world: repositories with commits, pull requests, reviews, teams, check runs and labels, in memory.
import { createHash } from "node:crypto";

export interface Account {
  login: string;
  type: "User" | "Bot" | "Organization";
}

export interface SimFile {
  filename: string;
  status: "added" | "removed" | "modified" | "renamed" | "copied" | "changed" | "unchanged";
  additions: number;
  deletions: number;
  previous_filename?: string;
}

export interface SimReview {
  id: number;
  user: Account;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED";
  commit_id: string;
  submitted_at: string;
  body: string;
}

export interface SimCommit {
  sha: string;
  message: string;
  author: { name: string; email: string; login?: string };
}

export interface SimPull {
  number: number;
  repo: string;
  title: string;
  body: string;
  user: Account;
  head: { ref: string; sha: string };
  base: { ref: string; sha: string };
  draft: boolean;
  state: "open" | "closed";
  labels: string[];
  files: SimFile[];
  reviews: SimReview[];
  commits: SimCommit[];
  requestedUsers: string[];
  requestedTeams: string[];
  created_at: string;
  updated_at: string;
}

export interface SimAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string;
  message: string;
  title?: string;
}

export interface SimCheckRun {
  id: number;
  repo: string;
  name: string;
  head_sha: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  details_url: string | null;
  started_at: string | null;
  completed_at: string | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations: SimAnnotation[] };
  app_id: number;
  /** Buttons the app offers on the run (`actions`), as last set. */
  actions?: Array<{ label: string; description: string; identifier: string }>;
  /** When the simulator saw it completed (ms since epoch), for latency measurements. */
  completedAtMs?: number;
}

export interface SimRepo {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  branches: Map<string, string>;
  /** Commit SHA -> path -> file text. */
  trees: Map<string, Map<string, string>>;
  labels: Map<string, { name: string; color: string; description: string | null }>;
}

/** A webhook delivery attempt as GitHub's "recent deliveries" keep it; `webhook` is what a redelivery sends again. */
export interface SimDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  /** 0 when the receiver could not be reached (connection refused), else the HTTP status it answered. */
  status_code: number;
  status: string;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  webhook: { event: string; payload: Record<string, unknown> };
}

export interface SimComment {
  id: number;
  repo: string;
  issue: number;
  user: Account;
  body: string;
  created_at: string;
}

let shaCounter = 0;
/** A fresh 40-hex SHA, unique within the process. */
export function newSha(seed: string): string {
  return createHash("sha1").update(`${seed}:${++shaCounter}:${process.pid}`).digest("hex");
}

export class SimState {
  readonly repos = new Map<string, SimRepo>();
  readonly pulls = new Map<string, SimPull>();
  readonly teams = new Map<string, string[]>();
  readonly installations = new Map<number, { account: string }>();
  readonly checkRuns = new Map<number, SimCheckRun>();
  readonly comments: SimComment[] = [];
  /** Actions runs cancelled through the API (POST …/actions/runs/{run_id}/cancel). */
  readonly cancelledRuns: Array<{ repo: string; runId: number }> = [];
  /** Every delivery attempt, oldest first (GitHub keeps those of the last three days). */
  readonly deliveries: SimDelivery[] = [];
  /** Repositories the app's installation does not include: GitHub answers 404 for them. */
  readonly hidden = new Set<string>();
  readonly app = { id: 1, slug: "governor", name: "Governor" };
  private ids = 1000;
  private repoIds = 500;

  nextId(): number {
    return ++this.ids;
  }

  addInstallation(id: number, account: string): void {
    this.installations.set(id, { account });
  }

  addRepo(opts: { owner: string; name: string; defaultBranch?: string; files?: Record<string, string> }): SimRepo {
    const full = `${opts.owner}/${opts.name}`;
    const branch = opts.defaultBranch ?? "main";
    const sha = newSha(full);
    const repo: SimRepo = {
      id: ++this.repoIds,
      owner: opts.owner,
      name: opts.name,
      defaultBranch: branch,
      branches: new Map([[branch, sha]]),
      trees: new Map([[sha, new Map(Object.entries(opts.files ?? {}))]]),
      labels: new Map(),
    };
    this.repos.set(full, repo);
    return repo;
  }

  repo(full: string): SimRepo {
    const repo = this.repos.get(full);
    if (!repo) throw new Error(`the simulator has no repository ${full}`);
    return repo;
  }

  /** Commits file changes on a branch (created from `from` when new); returns the new head SHA. */
  commit(full: string, branch: string, changes: { write?: Record<string, string>; remove?: string[] }, from?: string): string {
    const repo = this.repo(full);
    const parent = repo.branches.get(branch) ?? repo.branches.get(from ?? repo.defaultBranch);
    if (!parent) throw new Error(`no branch ${branch} or ${from ?? repo.defaultBranch} in ${full}`);
    const tree = new Map(repo.trees.get(parent));
    for (const [path, text] of Object.entries(changes.write ?? {})) tree.set(path, text);
    for (const path of changes.remove ?? []) tree.delete(path);
    const sha = newSha(`${full}:${branch}`);
    repo.trees.set(sha, tree);
    repo.branches.set(branch, sha);
    return sha;
  }

  /** A ref (branch name or SHA) to its commit SHA. */
  resolve(full: string, ref: string | null): string | undefined {
    const repo = this.repo(full);
    if (!ref) return repo.branches.get(repo.defaultBranch);
    return repo.branches.get(ref) ?? (repo.trees.has(ref) ? ref : undefined);
  }

  pull(full: string, number: number): SimPull {
    const pr = this.pulls.get(`${full}#${number}`);
    if (!pr) throw new Error(`no pull request ${full}#${number}`);
    return pr;
  }

  checkRunsFor(full: string, sha?: string): SimCheckRun[] {
    return [...this.checkRuns.values()].filter((c) => c.repo === full && (sha === undefined || c.head_sha === sha));
  }
}
