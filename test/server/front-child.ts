// The webhook front alone in a process of its own, for measuring its memory: prints its port, then on each line on
// stdin prints the peak RSS (bytes) seen since it started and its RSS at the start.
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createFront } from "../../src/server/http.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { createMetrics } from "../../src/server/metrics.js";

const inbox = openSqliteStores(join(process.argv[2] ?? ".", "front.db")).queue;
const server = createFront({
  secret: "s",
  webhookPath: "/api/github/webhooks",
  inbox,
  metrics: createMetrics(inbox),
  self: { appId: 1 },
  onQueued: () => undefined,
  log: () => undefined,
  health: async () => ({ ok: true, detail: {} }),
});
global.gc?.();
const start = process.memoryUsage().rss;
let peak = start;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5).unref();
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
createInterface({ input: process.stdin }).on("line", () => console.log(JSON.stringify({ start, peak: Math.max(peak, process.memoryUsage().rss) })));
