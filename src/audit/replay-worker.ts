// One replay worker thread (src/audit/replay-pool.ts): the trail's policy texts once, then batches of rows as stored,
// their results back in the order received. Each text is then one string in this thread, which the policy cache hashes
// once, as in a replay on one thread.
import { parentPort } from "node:worker_threads";
import { resolveReferences, textLookup } from "../store/policy-refs.js";
import { type ReplayedRow, Replayer } from "./replay.js";

export type ReplayMessage = { texts: Array<[string, string]> } | { seq: number; rows: ReplayedRow[] };

const port = parentPort;
if (!port) throw new Error("replay-worker runs as a worker thread of src/audit/replay-pool.ts");
const replayer = new Replayer();
const texts = new Map<string, string>();
const text = textLookup(texts);

port.on("message", (m: ReplayMessage) => {
  if ("texts" in m) {
    for (const [sha, t] of m.texts) texts.set(sha, t);
    return;
  }
  port.postMessage({
    seq: m.seq,
    results: m.rows.map((row) => replayer.replay(row, row.input === null ? undefined : resolveReferences(JSON.parse(row.input), text))),
  });
});
