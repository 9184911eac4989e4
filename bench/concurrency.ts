// Decisions per second for several concurrency settings, beside the bare app, with GitHub 50 ms away: how the defaults
// in src/server/config.ts were chosen (docs/operating.md). `npx tsx bench/concurrency.ts [global:perInstallation ...]`.
import { sweepConcurrency } from "./webhooks.js";

const args = process.argv.slice(2);
const settings = (args.length > 0 ? args : ["8:4", "16:2", "32:2", "32:4", "64:2", "64:4"]).map((a): [number, number] => {
  const [global, perInstallation] = a.split(":").map(Number);
  if (!global || !perInstallation) throw new Error(`not global:perInstallation: ${a}`);
  return [global, perInstallation];
});
await sweepConcurrency(settings, Number(process.env.GITHUB_LATENCY_MS ?? 50));
