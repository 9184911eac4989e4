// Dashboard page times on a 100,000-row trail (not a vitest file: run with `npx tsx test/dashboard/bench-pages.ts [FILE]`).
// Rows are real inputs decided by the real evaluator, over three repositories and five agents; the file is made once.
import { existsSync } from "node:fs";
import { type AddressInfo } from "node:net";
import { createServer } from "node:http";
import { type AuditEntry, openAuditStore } from "../../src/audit/store.js";
import { decide, PolicyCache } from "../../src/policy/decide.js";
import { fixturePolicy, input } from "../helpers/policy.js";

const ROWS = 100_000;
const BATCH = 1_000;
const file = process.argv[2] ?? "/tmp/governor-dashboard-100k.db";

const authors = [
  { author: { login: "Copilot", type: "Bot" }, head_branch: "copilot/x" },
  { author: { login: "chatgpt-codex-connector[bot]", type: "Bot" }, head_branch: "codex/x" },
  { author: { login: "devin-ai-integration[bot]", type: "Bot" }, head_branch: "devin/x" },
  { author: { login: "claude[bot]", type: "Bot" }, head_branch: "claude/x" },
  { author: { login: "octocat", type: "User" }, head_branch: "feature" },
];
const repos = [
  { owner: "acme", name: "webapp" },
  { owner: "acme", name: "api" },
  { owner: "globex", name: "site" },
];
const shapes = [
  ["docs/guide.md", "README.md"],
  ["db/migrations/0042_add_index.sql"],
  ["apps/api/src/billing/invoice.ts", "docs/billing.md"],
  ["apps/web/src/page.tsx", "apps/web/test/page.test.ts", "package.json"],
];

function entries(from: number, count: number, cache: PolicyCache, policy: string): AuditEntry[] {
  const start = Date.parse("2026-10-01T00:00:00Z");
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const now = new Date(start + i * 30_000).toISOString(); // 100,000 rows over about 35 days
    const repo = repos[i % repos.length]!;
    const who = authors[Math.floor(i / 3) % authors.length]!;
    const evaluation = input({
      policy,
      now,
      prsToday: 1 + (i % 5),
      files: shapes[i % shapes.length],
      change: { repo, number: Math.floor(i / 2) + 1, head_sha: (i + 1).toString(16).padStart(40, "a"), ...who },
    });
    const decision = decide(evaluation, cache);
    return {
      recorded_at: now,
      delivery_id: `delivery-${i}`,
      installation_id: 1,
      repo: `${repo.owner}/${repo.name}`,
      pr: evaluation.change.number,
      head_sha: evaluation.change.head_sha,
      base_sha: evaluation.change.base_sha,
      agent: decision.agent?.name ?? null,
      outcome: decision.outcome,
      decision,
      input: evaluation,
    };
  });
}

if (!existsSync(file)) {
  const store = openAuditStore(file);
  const cache = new PolicyCache();
  const policy = fixturePolicy("webapp-monorepo.yml");
  for (let i = 0; i < ROWS; i += BATCH) store.recordBatch(entries(i, BATCH, cache, policy));
  store.close();
  console.error(`made ${file}`);
}

const { dashboardHandler } = await import("../../src/dashboard/index.js");
const { SqliteAuditSource } = await import("../../src/dashboard/sqlite-source.js");
const source = SqliteAuditSource.open(file);
const handler = dashboardHandler({ source, auth: { kind: "local" }, htmlBase: "https://github.com" });
const server = createServer(
  (req, res) =>
    void handler(req, res).then((done) => {
      if (!done) {
        res.statusCode = 404;
        res.end();
      }
    }),
);
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function time(path: string, runs = 20): Promise<{ path: string; p50: number; max: number; status: number; bytes: number }> {
  const ms: number[] = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(base + path);
    const body = await res.text();
    ms.push(performance.now() - t);
    status = res.status;
    bytes = body.length;
  }
  ms.sort((a, b) => a - b);
  return { path, p50: Math.round(ms[Math.floor(runs / 2)]! * 10) / 10, max: Math.round(ms[runs - 1]! * 10) / 10, status, bytes };
}

const first = (await (await fetch(`${base}/api/decisions?limit=50`)).json()) as { next: string };
const deep = (await (await fetch(`${base}/api/decisions?limit=50&cursor=${Buffer.from("id:1000").toString("base64url")}`)).json()) as { next: string };
const results = [
  await time("/dashboard"),
  await time(`/dashboard?cursor=${first.next}`),
  await time(`/dashboard?cursor=${deep.next}`),
  await time("/dashboard?repo=globex%2Fsite"),
  await time("/dashboard?org=acme"),
  await time("/dashboard?agent=devin"),
  await time("/dashboard?outcome=denied"),
  await time("/dashboard?outcome=error"),
  await time("/dashboard?since=2026-10-20&until=2026-10-21"),
  await time("/api/decisions?limit=100"),
  await time("/dashboard/decisions/50000"),
  await time("/dashboard/prs/acme/webapp/301"),
  await time("/dashboard/agents?since=2026-10-01&until=2026-11-10", 1),
  await time("/dashboard/agents?since=2026-10-01&until=2026-11-10", 5),
  await time("/dashboard/budgets", 1),
  await time("/dashboard/overrides", 3),
];
console.table(results);
server.close();
await source.close();
