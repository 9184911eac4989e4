// Audit appends per second on PostgreSQL beside SQLite, in one run on the same entries: batched (one transaction per
// 1,000 rows) and one row per transaction. PostgreSQL runs with its durable defaults (fsync on), SQLite with
// synchronous=FULL, so both count only rows that survive a crash. Run alone: `npx tsx bench/store.ts`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { AuditEntry } from "../src/audit/store.js";
import { decide, PolicyCache } from "../src/policy/decide.js";
import { openPostgresStores } from "../src/store/postgres/index.js";
import type { AuditLog } from "../src/store/ports.js";
import { openSqliteStores } from "../src/store/sqlite/index.js";
import { fixturePolicy, input } from "../test/helpers/policy.js";
import { startPostgres } from "../test/helpers/postgres.js";
import type { BenchResult } from "./result.js";

const BATCHED_ROWS = 20_000;
const SINGLE_ROWS = 1_000;
const BATCH = 1_000;

/** Realistic rows (real inputs, the real evaluator, every outcome), made outside the timings. */
function entries(from: number, count: number): AuditEntry[] {
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
    const evaluation = input({
      policy,
      now,
      prsToday: 1 + (i % 5),
      files: shapes[i % shapes.length],
      change: { number: i + 1, head_sha: (i + 1).toString(16).padStart(40, "a") },
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

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Rows per second: `rows` appended in batches of `batch`, timing only the appends. */
async function rate(log: AuditLog, rows: number, batch: number): Promise<number> {
  let ms = 0;
  for (let i = 0; i < rows; i += BATCH) {
    const made = entries(i, Math.min(BATCH, rows - i));
    for (let j = 0; j < made.length; j += batch) {
      const slice = made.slice(j, j + batch);
      ms += await timed(() => log.append(slice));
    }
  }
  return rows / (ms / 1000);
}

export async function benchStore(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "governor-bench-store-"));
  const server = await startPostgres({ durable: true });
  try {
    const sqlite = openSqliteStores(join(dir, "governor.db"));
    const admin = new pg.Client({ connectionString: `${server.url}postgres` });
    await admin.connect();
    await admin.query("CREATE DATABASE bench");
    await admin.end();
    const postgres = openPostgresStores(`${server.url}bench`, { max: 2 });
    await postgres.migrate();
    // Warm-up on both, outside the figures: JIT, prepared plans, the first pages of each file.
    await rate(sqlite.audit, 2_000, BATCH);
    await rate(postgres.audit, 2_000, BATCH);
    const sqliteBatched = await rate(sqlite.audit, BATCHED_ROWS, BATCH);
    const postgresBatched = await rate(postgres.audit, BATCHED_ROWS, BATCH);
    const sqliteSingle = await rate(sqlite.audit, SINGLE_ROWS, 1);
    const postgresSingle = await rate(postgres.audit, SINGLE_ROWS, 1);
    // Three replicas appending one row per transaction at once: the chain lock serialises them, so this is the
    // ceiling on unbatched decisions per second for the whole cluster.
    const replicas = [postgres, openPostgresStores(`${server.url}bench`, { max: 1 }), openPostgresStores(`${server.url}bench`, { max: 1 })];
    const made = entries(0, SINGLE_ROWS);
    const concurrentMs = await timed(() =>
      Promise.all(
        replicas.map(async (r, k) => {
          for (let i = k; i < made.length; i += replicas.length) await r.audit.append([made[i] as AuditEntry]);
        }),
      ),
    );
    const concurrent = SINGLE_ROWS / (concurrentMs / 1000);
    for (const r of replicas.slice(1)) await r.close();
    const verified = await postgres.audit.verify();
    if (verified.broken) throw new Error(`the benchmark's PostgreSQL chain does not verify: ${verified.broken.problem}`);
    await sqlite.close();
    await postgres.close();
    return [
      {
        name: "audit appends, PostgreSQL, batched",
        value: postgresBatched,
        unit: "rows/s",
        baseline: { name: "SQLite batched", value: sqliteBatched },
        ratio: postgresBatched / sqliteBatched,
        note: `${BATCHED_ROWS} rows in transactions of ${BATCH}, fsync on; >1 is faster than SQLite`,
      },
      {
        name: "audit appends, PostgreSQL, one per transaction",
        value: postgresSingle,
        unit: "rows/s",
        baseline: { name: "SQLite one per transaction", value: sqliteSingle },
        ratio: postgresSingle / sqliteSingle,
        note: `${SINGLE_ROWS} rows, each durable before the next; >1 is faster than SQLite`,
      },
      {
        name: "audit appends, PostgreSQL, 3 replicas one per transaction",
        value: concurrent,
        unit: "rows/s",
        baseline: { name: "PostgreSQL 1 replica", value: postgresSingle },
        ratio: concurrent / postgresSingle,
        note: "appends serialise on the chain lock: ~1x means one chain's ceiling; batch to go past it",
      },
    ];
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await benchStore();
  for (const r of results)
    console.log(`${r.name}: ${r.value.toFixed(0)} ${r.unit} (${r.baseline?.name}: ${r.baseline?.value.toFixed(0)}; ratio ${r.ratio?.toFixed(2)}x)`);
  console.log(JSON.stringify(results));
}
