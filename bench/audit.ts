// Audit store cost: decisions written per second (batched vs one transaction per row) and replay of 100,000 decisions.
// Governor's code and the baselines' shared parts (rowHash, canonicalJson, decisionTitle) are the shipped build, dist/
// (bench/index.ts builds it first), as `governor` runs them: src/ through tsx carries the loader's wrappers on every
// function. Only the test helper that makes the inputs, outside every timing, comes from source.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import type { AuditEntry } from "../src/audit/store.js";
import { fixturePolicy, input } from "../test/helpers/policy.js";
import { type BenchResult, shipped, timeIt } from "./result.js";
import type { AuditLog } from "../src/store/ports.js";

/** The modules measured, from dist/. */
interface Shipped {
  store: typeof import("../src/audit/store.js");
  canonical: typeof import("../src/policy/canonical.js");
  decide: typeof import("../src/policy/decide.js");
  phrases: typeof import("../src/report/phrases.js");
  groupCommit: typeof import("../src/store/group-commit.js");
  sqliteLog: typeof import("../src/store/sqlite/audit-log.js");
}

async function load(): Promise<Shipped> {
  return {
    store: await shipped("audit/store.js"),
    canonical: await shipped("policy/canonical.js"),
    decide: await shipped("policy/decide.js"),
    phrases: await shipped("report/phrases.js"),
    groupCommit: await shipped("store/group-commit.js"),
    sqliteLog: await shipped("store/sqlite/audit-log.js"),
  };
}

const ROWS = 100_000;
const SINGLE_ROWS = 5_000;
const BATCH = 1_000;
/** Decisions finishing concurrently, as the server's workers finish them (16 in flight, as in the webhooks bench). */
const CALLERS = 16;
const CONCURRENT_ROWS = 4_000;

/** Rows per second when CALLERS callers each append one decision at a time, awaiting each, as the server does. */
async function concurrentRate(log: AuditLog, batch: readonly AuditEntry[]): Promise<number> {
  let next = 0;
  const ms = Number(process.hrtime.bigint()) / 1e6;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let e = batch[next++]; e; e = batch[next++]) await log.append([e]);
    }),
  );
  return batch.length / ((Number(process.hrtime.bigint()) / 1e6 - ms) / 1000);
}

/**
 * Realistic rows: real inputs over a real policy, decided by the real evaluator; a mix of every outcome. Made a batch at
 * a time, outside the timings: the app never holds 100,000 decisions in memory, and a heap that did would time the GC.
 */
export function entries(m: Pick<Shipped, "decide">, from: number, count: number): AuditEntry[] {
  const { decide, PolicyCache } = m.decide;
  const policy = fixturePolicy("webapp-monorepo.yml");
  const cache = new PolicyCache();
  const shapes = [
    ["docs/guide.md", "README.md"],
    ["db/migrations/0042_add_index.sql"],
    ["apps/api/src/billing/invoice.ts", "docs/billing.md"],
    ["apps/web/src/page.tsx", "apps/web/test/page.test.ts", "package.json"],
  ];
  const start = Date.parse("2026-11-01T00:00:00Z");
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const now = new Date(start + i * 1000).toISOString();
    const human = i % 11 === 0;
    const evaluation = input({
      policy,
      now,
      prsToday: 1 + (i % 5),
      files: shapes[i % shapes.length],
      change: {
        number: i + 1,
        head_sha: (i + 1).toString(16).padStart(40, "a"),
        ...(human ? { author: { login: "octocat", type: "User" }, head_branch: "feature" } : {}),
      },
    });
    const decision = decide(evaluation, cache);
    return {
      recorded_at: now,
      delivery_id: `delivery-${i}`,
      installation_id: 1,
      repo: "acme/webapp",
      pr: i + 1,
      head_sha: evaluation.change.head_sha,
      base_sha: evaluation.change.base_sha,
      agent: decision.agent?.name ?? null,
      outcome: decision.outcome,
      decision,
      input: evaluation,
    };
  });
}

/** Replay and its baseline over the written trail, in a process of their own (bench/replay-child.ts). */
function replayInChild(file: string): { replayMs: number; scanMs: number; counts: Record<string, number> } {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./replay-child.ts", import.meta.url)), file], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (child.status !== 0) throw new Error(`the replay run failed (exit ${child.status})`);
  return JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as { replayMs: number; scanMs: number; counts: Record<string, number> };
}

export async function benchAudit(): Promise<BenchResult[]> {
  const m = await load();
  const { GENESIS_HASH, openAuditStore, rowHash } = m.store;
  const { canonicalJson } = m.canonical;
  const { decisionTitle } = m.phrases;
  const { openSqliteAuditLog } = m.sqliteLog;
  const dir = mkdtempSync(join(tmpdir(), "governor-bench-audit-"));
  try {
    // The server's path: each decision appended on its own through the port, CALLERS at a time; with group commit those
    // finishing together share a transaction. The two runs alternate in halves, on files of their own.
    const concurrent = entries(m, 0, CONCURRENT_ROWS);
    const eachLog = openSqliteAuditLog(join(dir, "each.db")).log;
    const groupedLog = openSqliteAuditLog(join(dir, "grouped.db")).log;
    const grouped = m.groupCommit.groupCommit(groupedLog);
    const half = CONCURRENT_ROWS / 2;
    const eachRates = [await concurrentRate(eachLog, concurrent.slice(0, half))];
    const groupedRates = [await concurrentRate(grouped, concurrent.slice(0, half))];
    groupedRates.push(await concurrentRate(grouped, concurrent.slice(half)));
    eachRates.push(await concurrentRate(eachLog, concurrent.slice(half)));
    const eachRate = (eachRates[0]! + eachRates[1]!) / 2;
    const groupedRate = (groupedRates[0]! + groupedRates[1]!) / 2;
    if ((await grouped.verify()).broken !== null || (await eachLog.verify()).broken !== null)
      throw new Error("a concurrent append broke the chain: benchmark void");
    eachLog.store.close();
    groupedLog.store.close();

    const single = openAuditStore(join(dir, "single.db"));
    let singleMs = 0;
    for (let i = 0; i < SINGLE_ROWS; i += BATCH) {
      const batch = entries(m, i, BATCH);
      singleMs += timeIt(() => batch.forEach((e) => single.record(e))).ms;
    }
    single.close();
    const singleRate = SINGLE_ROWS / (singleMs / 1000);

    const store = openAuditStore(join(dir, "batched.db"));
    // The floor: the same rows, serialised outside the timing, SHA-256-chained alike (inside it) and written as plain
    // INSERTs into an identical table (same columns and indexes, same pragmas), 1,000 a transaction; no policy texts,
    // budget or identity tables. The two are timed batch by batch in turn, so a change in the machine's load falls on
    // both alike.
    const raw = new Database(join(dir, "raw.db"));
    raw.pragma("journal_mode = WAL");
    raw.pragma("synchronous = FULL");
    for (const { sql } of store.db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'decisions' AND sql IS NOT NULL ORDER BY type DESC").all() as Array<{
      sql: string;
    }>)
      raw.exec(sql);
    const rawInsert = raw.prepare(`INSERT INTO decisions (id, recorded_at, delivery_id, installation_id, repo, pr, head_sha, base_sha, agent, outcome,
      evaluator_version, title, decision, input, input_missing_reason, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const textSha = new Map<string, string>();
    const stored = (input: AuditEntry["input"]) => {
      if (!input) return null;
      const policies: Record<string, unknown> = {};
      for (const [source, policy] of Object.entries(input.policies)) {
        if (!policy) continue;
        let sha = textSha.get(policy.text);
        if (!sha) textSha.set(policy.text, (sha = createHash("sha256").update(policy.text).digest("hex")));
        policies[source] = { ...policy, text: `\u0000policy:sha256:${sha}` };
      }
      return JSON.stringify({ ...input, policies });
    };
    let serialiseMs = 0;
    let appendMs = 0;
    let rawMs = 0;
    let rawId = 0;
    let rawPrev = GENESIS_HASH;
    for (let i = 0; i < ROWS; i += BATCH) {
      const batch = entries(m, i, BATCH);
      // Who goes first alternates: the garbage of making a batch is not always collected in the same one's time.
      const governorFirst = (i / BATCH) % 2 === 0;
      // Governor serialises before its write transaction (AuditStore.prepare), then links and writes (appendPrepared):
      // the second is what the floor below does; the two are timed apart.
      const governor = () => {
        const prepared = timeIt(() => store.prepare(batch));
        serialiseMs += prepared.ms;
        appendMs += timeIt(() => store.appendPrepared(prepared.result)).ms;
      };
      if (governorFirst) governor();
      // The rows as stored (serialised outside the timing: the floor is SQLite and the chain, not JSON).
      const rows = batch.map((e) => ({
        id: ++rawId,
        recorded_at: e.recorded_at,
        delivery_id: e.delivery_id,
        installation_id: e.installation_id,
        repo: e.repo,
        pr: e.pr,
        head_sha: e.head_sha,
        base_sha: e.base_sha,
        agent: e.agent,
        outcome: e.outcome,
        evaluator_version: e.decision.evaluator_version,
        title: decisionTitle(e.decision),
        decision: canonicalJson(e.decision),
        input: stored(e.input),
        input_missing_reason: e.input ? null : (e.input_missing_reason ?? "not recorded"),
        prev_hash: "",
      }));
      rawMs += timeIt(() =>
        raw
          .transaction(() => {
            for (const row of rows) {
              row.prev_hash = rawPrev;
              rawPrev = rowHash(row);
              rawInsert.run(
                row.id,
                row.recorded_at,
                row.delivery_id,
                row.installation_id,
                row.repo,
                row.pr,
                row.head_sha,
                row.base_sha,
                row.agent,
                row.outcome,
                row.evaluator_version,
                row.title,
                row.decision,
                row.input,
                row.input_missing_reason,
                row.prev_hash,
                rawPrev,
              );
            }
          })
          .immediate(),
      ).ms;
      if (!governorFirst) governor();
    }
    const appendRate = ROWS / (appendMs / 1000);
    const batchedRate = ROWS / ((serialiseMs + appendMs) / 1000);
    // Same rows, same chain: the raw table's last hash is Governor's.
    const governorHead = (store.db.prepare("SELECT hash FROM decisions ORDER BY id DESC LIMIT 1").get() as { hash: string }).hash;
    raw.close();
    if (governorHead !== rawPrev) throw new Error("the raw-insert baseline did not write the same chain: benchmark void");
    const rawRate = ROWS / (rawMs / 1000);

    store.close();
    const replay = replayInChild(join(dir, "batched.db"));
    if (replay.counts.identical !== ROWS) throw new Error(`replay disagreed with the stored decisions: ${JSON.stringify(replay.counts)}; benchmark void`);

    return [
      {
        name: `audit appends, ${CALLERS} concurrent callers, group commit`,
        value: groupedRate,
        unit: "rows/s",
        baseline: { name: "one transaction each", value: eachRate },
        ratio: groupedRate / eachRate,
        note: `${CONCURRENT_ROWS.toLocaleString("en")} decisions, one append each, every caller awaiting its commit (synchronous=FULL)`,
      },
      {
        name: "audit appends of serialised rows, batched, vs raw inserts",
        value: appendRate,
        unit: "rows/s",
        baseline: { name: "raw INSERTs, same rows and chain", value: rawRate },
        ratio: appendRate / rawRate,
        note: `${ROWS.toLocaleString("en")} rows, 1,000 a transaction; both serialise before the transaction, untimed; Governor also writes budget, identity and policy-text rows; target ratio >= 0.8`,
      },
      {
        name: "audit writes with serialising, batched, vs raw inserts",
        value: batchedRate,
        unit: "rows/s",
        baseline: { name: "raw INSERTs, same rows and chain", value: rawRate },
        ratio: batchedRate / rawRate,
        note: "the row above with Governor's serialising (canonical JSON, stored input, title) timed too; the floor's is not",
      },
      {
        name: "audit writes, batched (1,000 rows a transaction)",
        value: batchedRate,
        unit: "rows/s",
        baseline: { name: "one transaction a row", value: singleRate },
        ratio: batchedRate / singleRate,
        note: `${ROWS.toLocaleString("en")} rows, hash-chained, WAL; target >= 20,000/s`,
      },
      {
        name: "audit replay of 100,000 decisions",
        value: replay.replayMs / 1000,
        unit: "s",
        baseline: { name: "read + parse only", value: replay.scanMs / 1000 },
        ratio: replay.scanMs / replay.replayMs,
        note: `all ${replay.counts.identical.toLocaleString("en")} identical, in a fresh process as \`governor audit replay --all\` runs (a worker thread a core; the scan on one thread); target < 10 s, ratio >= 0.5 (within 2x of the bare scan)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
