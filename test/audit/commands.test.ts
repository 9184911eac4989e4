import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/audit/store.js";
import { EVALUATOR_VERSION } from "../../src/policy/decision.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { ROOT, run, runBin, tempDir } from "../helpers/cli.js";
import { fixturePolicy } from "../helpers/policy.js";

function seeded(entries = oneOfEach()) {
  const dir = tempDir();
  const store = openAuditStore(join(dir, "governor.db"));
  store.recordBatch(entries);
  store.close();
  return dir;
}

describe("governor audit list and show", () => {
  it("lists decisions newest first as a table", async () => {
    const cwd = seeded();
    const r = await run(["audit", "list"], { cwd });
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+TIME\s+PR\s+SHA\s+AGENT\s+OUTCOME\s+TITLE$/);
    expect(lines[1]).toMatch(/^6\s+2026-11-24T12:00:00Z\s+acme\/webapp#9\s+eeeeeee\s+-\s+error\s+GitHub error/);
    expect(lines).toHaveLength(7);
  });

  it("filters by outcome, agent, PR and time, and prints JSON", async () => {
    const cwd = seeded();
    const r = await run(["audit", "list", "--outcome", "denied", "--agent", "copilot", "--since", "2026-11-24T00:00:00Z", "--json"], { cwd });
    const rows = JSON.parse(r.stdout) as Array<{ pr: number; outcome: string }>;
    expect(rows.map((x) => [x.pr, x.outcome])).toEqual([[3, "denied"]]);
    expect(JSON.parse((await run(["audit", "list", "--pr", "2", "--json"], { cwd })).stdout)).toHaveLength(1);
  });

  it("reads DATABASE_PATH when --db is not given", async () => {
    const cwd = seeded();
    const r = await run(["audit", "list", "--json"], { cwd: tempDir(), env: { DATABASE_PATH: join(cwd, "governor.db") } });
    expect(JSON.parse(r.stdout)).toHaveLength(6);
  });

  it("says clearly when there is no database", async () => {
    const r = await run(["audit", "list"], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no audit database at .*governor\.db/);
  });

  it("shows a decision with its inputs", async () => {
    const cwd = seeded();
    const r = await run(["audit", "show", "2"], { cwd });
    expect(r.stdout).toContain("Decision 2: acme/webapp#2");
    expect(r.stdout).toContain("- repo:migrations-need-dba [require_approval, unmet]");
    expect(r.stdout).toContain("repo policy: acme/webapp:.governance.yml @ bbbbbbb");
    expect(r.stdout).toContain("modified db/migrations/1.sql (+1 -1)");
  });

  it("shows why a row without inputs cannot be replayed", async () => {
    const r = await run(["audit", "show", "6"], { cwd: seeded() });
    expect(r.stdout).toContain("Inputs: not recorded (GitHub answered 502 to GET /repos/acme/webapp/pulls/9/files); this row cannot be replayed.");
  });
});

describe("governor audit replay", () => {
  it("replays every outcome type byte for byte", async () => {
    const r = await run(["audit", "replay", "--all"], { cwd: seeded() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replayed 5, identical 5, differing 0, older evaluator 0, skipped 1 in [\d.]+ s/);
    expect(r.stdout).toContain("row 6: skipped, not replayable: GitHub answered 502");
  });

  it("reports a row whose stored decision no longer matches its inputs, and exits 1", async () => {
    const cwd = seeded();
    const store = openAuditStore(join(cwd, "governor.db"));
    const row = store.get(3)!;
    const forged = JSON.parse(row.decision) as Record<string, unknown>;
    store.db
      .prepare("UPDATE decisions SET decision = ? WHERE id = 3")
      .run(JSON.stringify({ ...forged, outcome: "allowed", title: "Allowed: 1 file within policy" }));
    store.close();
    const r = await run(["audit", "replay", "3"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'row 3 (acme/webapp#3): differs in outcome, title: was "allowed: Allowed: 1 file within policy", now "denied: Denied: repo:billing-freeze"',
    );
  });

  it("explains a difference when the row was recorded by another evaluator version", async () => {
    const cwd = seeded([entryFor({ files: ["docs/a.md"] })]);
    const store = openAuditStore(join(cwd, "governor.db"));
    const d = JSON.parse(store.get(1)!.decision) as Record<string, unknown>;
    store.db.prepare("UPDATE decisions SET evaluator_version = '0.9.0', decision = ? WHERE id = 1").run(JSON.stringify({ ...d, evaluator_version: "0.9.0" }));
    store.close();
    const r = await run(["audit", "replay", "1"], { cwd });
    expect(r.stdout).toContain(`recorded by evaluator 0.9.0, now ${EVALUATOR_VERSION}: not comparable byte for byte`);
    expect(r.stdout).toMatch(/differing 0, older evaluator 1, skipped 0/);
    expect(r.code).toBe(0);
  });

  it("replays a whole trail on worker threads through the real bin, reporting a forged row among thousands in its place", () => {
    const entries = Array.from({ length: 2_400 }, (_, i) => entryFor({ pr: i + 1, files: [i % 2 ? "docs/a.md" : "src/billing/x.ts"] }));
    const cwd = seeded(entries);
    const store = openAuditStore(join(cwd, "governor.db"));
    const d = JSON.parse(store.get(2_000)!.decision) as Record<string, unknown>;
    expect(d["outcome"]).toBe("allowed");
    store.db.prepare("UPDATE decisions SET decision = ? WHERE id = 2000").run(JSON.stringify({ ...d, outcome: "denied" }));
    store.close();
    const r = runBin(["audit", "replay", "--all"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^row 2000 \(acme\/webapp#2000\): differs in outcome: was "denied: /m);
    expect(r.stdout).toMatch(/replayed 2400, identical 2399, differing 1, older evaluator 0, skipped 0 in [\d.]+ s/);
  });

  it("replays through the real bin", () => {
    const r = runBin(["audit", "replay", "--all", "--outcome", "denied"], { cwd: seeded() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/replayed 1, identical 1, differing 0, older evaluator 0, skipped 0/);
  });
});

describe("governor audit verify", () => {
  it("passes an intact chain", async () => {
    const r = await run(["audit", "verify"], { cwd: seeded() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("chain intact: 6 rows verified\n");
  });

  it("fails at the first edited row with exit 1", async () => {
    const cwd = seeded();
    const store = openAuditStore(join(cwd, "governor.db"));
    store.db.prepare("UPDATE decisions SET title = 'Allowed' WHERE id = 4").run();
    store.close();
    const r = await run(["audit", "verify"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("chain broken at row 4: row 4 was edited: its content does not match its hash\n");
  });

  it("proves rows shown on GitHub are still there, and catches the newest rows cut off", async () => {
    const cwd = seeded();
    const store = openAuditStore(join(cwd, "governor.db"));
    const anchor = (id: number) => `${id}:${store.get(id)!.hash.slice(0, 16)}`;
    const [five, six] = [anchor(5), anchor(6)];
    store.close();
    expect((await run(["audit", "verify", "--expect", five, "--expect", six], { cwd })).stdout).toBe(
      "chain intact: 6 rows verified; 2 anchors from GitHub found\n",
    );
    const cut = openAuditStore(join(cwd, "governor.db"));
    cut.db.prepare("DELETE FROM decisions WHERE id >= 5").run();
    cut.close();
    expect((await run(["audit", "verify"], { cwd })).code).toBe(0); // a chain alone cannot tell its newest rows are gone
    const r = await run(["audit", "verify", "--expect", six], { cwd });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("row 6, shown on GitHub, is not in the trail");
  });

  it("leaves the file byte for byte as it was, so an archived copy can be verified as evidence", async () => {
    const cwd = seeded();
    const file = join(cwd, "governor.db");
    const before = createHash("sha256").update(readFileSync(file)).digest("hex");
    expect((await run(["audit", "verify"], { cwd })).code).toBe(0);
    expect((await run(["audit", "export", "--format", "csv"], { cwd })).code).toBe(0);
    expect(createHash("sha256").update(readFileSync(file)).digest("hex")).toBe(before);
  });

  it("refuses a malformed anchor as bad usage", async () => {
    const r = await run(["audit", "verify", "--expect", "six"], { cwd: seeded() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--expect six: write ROW:HASH");
  });
});

describe("governor audit export", () => {
  it("exports CSV with RFC 4180 quoting", async () => {
    const r = await run(["audit", "export", "--format", "csv", "--outcome", "needs_approval"], { cwd: seeded() });
    const [head, row] = r.stdout.split("\r\n");
    expect(head).toBe("id,recorded_at,delivery_id,repo,pr,head_sha,base_sha,agent,outcome,title,evaluator_version,hash,rules,reasons");
    expect(row).toMatch(
      new RegExp(
        `^2,2026-11-24T12:00:00.000Z,,acme/webapp,2,a{40},b{40},copilot,needs_approval,Needs approval: 0 of 1 gate met,${EVALUATOR_VERSION.replace(/\./g, "\\.")},[0-9a-f]{64},repo:migrations-need-dba,`,
      ),
    );
  });

  it("exports JSON lines with the decision and input parsed", async () => {
    const r = await run(["audit", "export"], { cwd: seeded() });
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { decision: { outcome: string }; input: unknown });
    expect(lines.map((l) => l.decision.outcome)).toEqual(["allowed", "needs_approval", "denied", "not_governed", "error", "error"]);
  });

  it("streams rows of a realistic size in bounded memory (a 48 MB heap for over 100 MB of output)", () => {
    const cwd = tempDir();
    const store = openAuditStore(join(cwd, "governor.db"));
    // About 10 KB a row, as a PR of 60 files records: a page of 1,000 such rows alone outgrew the heap.
    const files = Array.from({ length: 60 }, (_, i) => `packages/module-${i}/src/components/nested/file-${i}.ts`);
    const entry = entryFor({ policy: "version: 1\ndefault: allow\nowners: { users: [o] }\n", files });
    for (let b = 0; b < 10; b++) store.recordBatch(Array.from({ length: 1000 }, (_, i) => ({ ...entry, pr: b * 1000 + i })));
    store.close();
    const r = runBin(["audit", "export", "--format", "jsonl", "--out", "all.jsonl"], { cwd, env: { NODE_OPTIONS: "--max-old-space-size=48" } });
    expect(r.stderr).toContain("exported 10000 rows to all.jsonl");
    expect(r.code).toBe(0);
    expect(statSync(join(cwd, "all.jsonl")).size).toBeGreaterThan(100 * 1024 * 1024);
  }, 120_000);
});

describe("governor simulate", () => {
  it("prints the transitions a policy change would cause, with the PRs", async () => {
    const cwd = seeded();
    const stricter = fixturePolicy("webapp-monorepo.yml").replace(
      / {2}- id: tests-docs-ui\n {4}match: \{ classes: \[tests, docs, ui\] \}\n {4}action: allow\n/,
      "",
    );
    writeFileSync(join(cwd, "new.yml"), stricter);
    const r = await run(["simulate", "--policy", "new.yml"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("5 PRs considered; 2 would change");
    expect(r.stdout).toContain("error -> needs_approval: 1\n  acme/webapp#5 (row 5)");
    expect(r.stdout).toContain("allowed -> needs_approval: 1\n  acme/webapp#1 (row 1): Needs approval: 0 of 1 gate met");
  });

  it("measures a policy change against today's evaluator, not against an outcome an older evaluator recorded", async () => {
    const denied = entryFor({ pr: 40, files: ["apps/api/src/billing/x.ts"] });
    const recordedByOlder = {
      ...denied,
      outcome: "allowed" as const,
      decision: { ...denied.decision, outcome: "allowed" as const, evaluator_version: "0.9.0" },
    };
    const cwd = seeded([recordedByOlder]);
    writeFileSync(join(cwd, "same.yml"), fixturePolicy("webapp-monorepo.yml"));
    const r = await run(["simulate", "--policy", "same.yml"], { cwd });
    expect(r.stdout).toContain("1 PRs considered; 0 would change");
  });

  it("lists the PRs a policy in observe mode would have blocked once enforced", async () => {
    const cwd = seeded();
    writeFileSync(join(cwd, "observe.yml"), fixturePolicy("webapp-monorepo.yml").replace(/^version: 1\n/m, "version: 1\nmode: observe\n"));
    const r = await run(["simulate", "--policy", "observe.yml"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/observe mode would have blocked \d+:\n {2}acme\/webapp#\d+ \(row \d+\): would be (denied|needs_approval) by /);
  });

  it("refuses an invalid new policy with file:line:column", async () => {
    const cwd = seeded();
    writeFileSync(join(cwd, "bad.yml"), "version: 1\nrulez: []\n");
    const r = await run(["simulate", "--policy", "bad.yml"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.yml:2:1: error: rulez: unknown key "rulez"');
  });
});

describe("audit store under a crash", () => {
  it("leaves a consistent, verifiable file when the writer is killed mid-batch", async () => {
    const dir = tempDir();
    const path = join(dir, "crash.db");
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/audit/crash-writer.ts"), path], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 200)));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const store = openAuditStore(path);
    const rows = store.count();
    expect(rows).toBeGreaterThanOrEqual(150);
    expect(rows % 50).toBe(0); // whole batches only
    expect(store.verify()).toEqual({ rows, broken: null });
  });
});
