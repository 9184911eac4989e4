// `npm run bench`: every figure beside a baseline measured in the same run, as one table and as JSON: written to the
// temporary folder, or where `--out FILE` says (e.g. `npm run bench -- --out bench/results.json` to update the
// figures kept in the repository). `npm run bench -- startup` runs one section. It builds dist/ first (see below).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchAudit } from "./audit.js";
import { benchMatcher } from "./matcher.js";
import { benchReplicas } from "./replicas.js";
import { benchStore } from "./store.js";
import type { BenchResult } from "./result.js";
import { benchStartup } from "./startup.js";
import { benchWebhooks } from "./webhooks.js";

function format(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function table(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    `${format(r.value)} ${r.unit}`,
    r.baseline ? `${r.baseline.name}: ${format(r.baseline.value)} ${r.unit}` : "",
    r.ratio !== undefined ? `${format(r.ratio)}x` : "",
    r.note ?? "",
  ]);
  const head = ["benchmark", "value", "baseline (same run)", "ratio", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const sections: Array<[string, () => BenchResult[] | Promise<BenchResult[]>]> = [
  ["matcher", benchMatcher],
  ["audit", benchAudit],
  ["webhooks", benchWebhooks],
  // Audit appends on PostgreSQL (a server of its own, fsync on) beside SQLite.
  ["store", benchStore],
  // Decisions per second of 1 and 3 serve replicas on PostgreSQL beside SQLite, GitHub 50 ms away.
  ["replicas", benchReplicas],
  ["startup", benchStartup],
];

/** Runs one section in a child process of its own: a fresh heap and JIT, so no section pays for another's garbage. */
function runIsolated(name: string): BenchResult[] {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--section", name], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`benchmark section ${name} failed (exit ${child.status})`);
  const last = child.stdout.trim().split("\n").pop() ?? "[]";
  return JSON.parse(last) as BenchResult[];
}

const args = process.argv.slice(2);
if (args[0] === "--section") {
  const section = sections.find(([name]) => name === args[1]);
  if (!section) throw new Error(`no benchmark section ${args[1]}`);
  console.log(JSON.stringify(await section[1]()));
} else {
  // Sections that time Governor in process load the shipped build (dist/): bring it up to date with src/ first (tsc is
  // incremental, so this is quick when nothing changed), so a figure is never of stale code.
  const build = spawnSync(process.execPath, [fileURLToPath(new URL("../scripts/build.mjs", import.meta.url))], { stdio: ["ignore", 2, 2] });
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status}): the benchmarks measure dist/`);
  const outAt = args.indexOf("--out");
  const outArg = outAt >= 0 ? args[outAt + 1] : undefined;
  if (outAt >= 0 && !outArg) throw new Error("--out needs a file name");
  const chosen = outAt >= 0 ? args.filter((_, i) => i !== outAt && i !== outAt + 1) : args;
  const results: BenchResult[] = [];
  for (const [name] of sections) {
    if (chosen.length > 0 && !chosen.includes(name)) continue;
    process.stderr.write(`running ${name} ...\n`);
    results.push(...runIsolated(name));
  }
  console.log(table(results));
  const out = outArg ? resolve(process.cwd(), outArg) : join(tmpdir(), "governor-bench-results.json");
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, results }, null, 2)}\n`);
  console.log(`\nwritten to ${out}`);
}
