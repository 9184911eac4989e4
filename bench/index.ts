// `npm run bench`: every figure beside a baseline measured in the same run, as one table and as bench/results.json.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { benchAudit } from "./audit.js";
import { benchMatcher } from "./matcher.js";
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
];

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of sections) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stderr.write(`running ${name} ...\n`);
  results.push(...(await run()));
}
console.log(table(results));
const out = fileURLToPath(new URL("./results.json", import.meta.url));
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: (await import("node:os")).cpus().length, results }, null, 2)}\n`);
console.log(`\nwritten to ${out}`);
