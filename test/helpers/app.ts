// The real Probot app with a real SQLite audit store, fed signed webhooks built from GitHub's example payloads.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { Probot } from "probot";
import { type AuditStore, openAuditStore } from "../../src/audit/store.js";
import { governorApp } from "../../src/github/app.js";
import { auditSinkOf } from "../../src/server/app-ports.js";
import { openStores } from "../../src/store/open.js";
import { governorOctokit } from "../../src/github/octokit.js";
import { tempDir } from "./cli.js";
import { GitHubFake } from "./github-fake.js";
import { example } from "./webhooks.js";

export const APP_ID = 4242;
export const SECRET = "test-secret";
export const HEAD = "1".repeat(40);
export const BASE = "2".repeat(40);
export const NOW = new Date("2026-11-24T12:00:00Z");

let key: string | undefined;
function privateKey(): string {
  key ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  }).privateKey;
  return key;
}

export interface TestApp {
  probot: Probot;
  github: GitHubFake;
  audit: AuditStore;
  /** Signs `payload` like GitHub and hands it to Probot's verifying receiver. */
  /** Delivers a signed event. GitHub's view of the PR becomes the payload's, unless `stale` (a late, outdated event). */
  deliver(event: string, payload: Record<string, unknown>, id?: string, opts?: { stale?: boolean }): Promise<void>;
  /** Moves the app's clock (caches that expire, budgets). */
  setNow(at: Date): void;
  close(): void;
}

export async function startTestApp(opts: { now?: Date; requireOrgPolicy?: boolean } = {}): Promise<TestApp> {
  const github = new GitHubFake();
  const file = join(tempDir(), "audit.db");
  // The app writes through the async ports, as the server wires them; the test reads the same file directly.
  const stores = openStores({ databasePath: file });
  const audit = openAuditStore(file);
  const probot = new Probot({
    appId: APP_ID,
    privateKey: privateKey(),
    secret: SECRET,
    logLevel: "fatal",
    Octokit: governorOctokit({ retries: 2, retryAfterBaseValue: 1 }),
  });
  let now = opts.now ?? NOW;
  await probot.load(governorApp({ audit: auditSinkOf(stores), appId: APP_ID, now: () => now, ...(opts.requireOrgPolicy ? { requireOrgPolicy: true } : {}) }));
  return {
    probot,
    github,
    audit,
    setNow(at: Date) {
      now = at;
    },
    async deliver(event, payload, id = randomUUID(), opts = {}) {
      const pr = payload["pull_request"] as { number?: number } | undefined;
      const repo = (payload["repository"] as { full_name?: string } | undefined)?.full_name;
      if (pr?.number !== undefined && repo && !opts.stale) github.state.pulls.set(`${repo}#${pr.number}`, pr);
      const body = JSON.stringify(payload);
      await probot.webhooks.verifyAndReceive({ id, name: event, payload: body, signature: await sign(SECRET, body) });
    },
    close() {
      github.close();
      audit.close();
      void stores.close();
    },
  };
}

export interface PrOptions {
  action?: string;
  number?: number;
  author?: { login: string; type: string };
  branch?: string;
  labels?: string[];
  draft?: boolean;
  head?: string;
  changedFiles?: number;
  requestedReviewers?: string[];
}

/** A `pull_request` payload from @octokit/webhooks-examples, moved to acme/webapp and adjusted. */
export function prPayload(o: PrOptions = {}): Record<string, unknown> {
  const base = example("pull_request", o.action === "synchronize" ? "synchronize" : "opened");
  const pr = base["pull_request"] as Record<string, unknown>;
  const repository = {
    ...(base["repository"] as Record<string, unknown>),
    name: "webapp",
    full_name: "acme/webapp",
    html_url: "https://github.com/acme/webapp",
    owner: { ...(base["repository"] as { owner: object }).owner, login: "acme", type: "Organization" },
  };
  const number = o.number ?? 7;
  Object.assign(pr, {
    number,
    user: { ...(pr["user"] as object), login: o.author?.login ?? "Copilot", type: o.author?.type ?? "Bot" },
    head: { ...(pr["head"] as object), ref: o.branch ?? "copilot/fix-7", sha: o.head ?? HEAD },
    base: { ...(pr["base"] as object), ref: "main", sha: BASE, repo: repository },
    labels: (o.labels ?? []).map((name, i) => ({ id: i + 1, node_id: `L${i}`, url: "", name, color: "ededed", default: false, description: null })),
    draft: o.draft ?? false,
    changed_files: o.changedFiles,
    requested_reviewers: (o.requestedReviewers ?? []).map((login) => ({ login, type: "User" })),
    requested_teams: [],
    html_url: `https://github.com/acme/webapp/pull/${number}`,
    created_at: "2026-11-24T11:00:00Z",
  });
  return { ...base, action: o.action ?? "opened", number, pull_request: pr, repository, installation: { id: 99, node_id: "I" } };
}

/** A `pull_request_review` payload for the same PR. */
export function reviewPayload(o: PrOptions & { reviewer: string; state: string; action?: string }): Record<string, unknown> {
  const base = example("pull_request_review", o.action === "dismissed" ? "dismissed" : "submitted");
  const pr = prPayload({ ...o, action: "opened" });
  return {
    ...base,
    action: o.action ?? "submitted",
    review: { ...(base["review"] as object), user: { login: o.reviewer, type: "User" }, state: o.state.toLowerCase(), commit_id: o.head ?? HEAD },
    pull_request: pr["pull_request"],
    repository: pr["repository"],
    installation: pr["installation"],
  };
}

export function setFiles(
  github: GitHubFake,
  files: Array<string | { filename: string; status?: string; previous_filename?: string; additions?: number; deletions?: number }>,
  number = 7,
): void {
  github.state.files.set(
    `acme/webapp#${number}`,
    files.map((f) =>
      typeof f === "string" ? { filename: f, status: "modified", additions: 3, deletions: 1 } : { status: "modified", additions: 3, deletions: 1, ...f },
    ),
  );
}

export function setPolicy(github: GitHubFake, text: string, opts: { ref?: string; path?: string } = {}): void {
  github.state.contents.set(`acme/webapp@${opts.ref ?? BASE}:${opts.path ?? ".governance.yml"}`, text);
}

export function approve(
  github: GitHubFake,
  login: string,
  opts: { state?: string; commit?: string; type?: string; id?: number; at?: string; number?: number } = {},
): void {
  const key = `acme/webapp#${opts.number ?? 7}`;
  const list = github.state.reviews.get(key) ?? [];
  list.push({
    id: opts.id ?? list.length + 1,
    user: { login, type: opts.type ?? "User" },
    state: opts.state ?? "APPROVED",
    commit_id: opts.commit ?? HEAD,
    submitted_at: opts.at ?? `2026-11-24T11:${String(10 + list.length).padStart(2, "0")}:00Z`,
  });
  github.state.reviews.set(key, list);
}
