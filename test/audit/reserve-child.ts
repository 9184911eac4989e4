// Child process for the reservation test: reserves budget places for PRs `from`..`from + n - 1` of one agent.
import { openAuditStore } from "../../src/audit/store.js";

const [path = "r.db", from = "1", n = "1"] = process.argv.slice(2);
const store = openAuditStore(path);
const out: Record<number, number> = {};
for (let pr = Number(from); pr < Number(from) + Number(n); pr++) {
  out[pr] = store.reserveAgentPr({ repo: "acme/webapp", agents: ["copilot"], pr, openedAt: "2026-11-24T11:00:00Z" })["copilot"]!;
}
process.stdout.write(JSON.stringify(out));
store.close();
