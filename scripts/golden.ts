// Regenerate the golden fixtures' decisions (fixtures/golden/*.json) with today's evaluator: `npx tsx scripts/golden.ts`.
// Run it only after bumping EVALUATOR_VERSION for a deliberate change in what the evaluator decides; review the diff.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decide } from "../src/policy/decide.js";
import { EVALUATOR_VERSION } from "../src/policy/decision.js";
import { EvaluationInputSchema } from "../src/policy/input.js";

const dir = fileURLToPath(new URL("../fixtures/golden/", import.meta.url));
for (const name of readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const path = join(dir, name);
  const fixture = JSON.parse(readFileSync(path, "utf8")) as { name: string; description: string; input: unknown };
  const decision = decide(EvaluationInputSchema.parse(fixture.input));
  writeFileSync(
    path,
    `${JSON.stringify({ name: fixture.name, description: fixture.description, evaluator_version: EVALUATOR_VERSION, input: fixture.input, decision }, null, 1)}\n`,
  );
  process.stdout.write(`${name}: ${decision.outcome}\n`);
}
