// `npm run bench`: every figure beside a baseline measured in the same run, as one table and as bench/results.json.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { benchAudit } from "./audit.js";
import { benchMatcher } from "./matcher.js";
import { benchReplicas } from "./replicas.js";
import { benchStore } from "./store.js";
import type { BenchResult } from "./result.js";
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
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const sections: Array<[string, () => Promise<BenchResult[]>]> = [
  ["matcher", benchMatcher],
  ["audit", benchAudit],
  ["webhooks", benchWebhooks],
  // Audit appends on PostgreSQL (a server of its own, fsync on) beside SQLite.
  ["store", benchStore],
  // Decisions per second of 1 and 3 serve replicas on PostgreSQL beside SQLite, GitHub 50 ms away.
  ["replicas", benchReplicas],
];

/** Runs one section in a child process of its own: a fresh heap and JIT, so no section pays for another's garbage. */
function runIsolated(name: string): BenchResult[] {
  const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--section", name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
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
  const results: BenchResult[] = [];
  for (const [name] of sections) {
    if (args.length > 0 && !args.includes(name)) continue;
    process.stderr.write(`running ${name} ...\n`);
    results.push(...runIsolated(name));
  }
  console.log(table(results));
  const out = fileURLToPath(new URL("./results.json", import.meta.url));
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, results }, null, 2)}\n`);
  console.log(`\nwritten to ${out}`);
}
