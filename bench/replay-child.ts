// The replay figure's two runs over one written trail, in a process of its own started by bench/audit.ts: as
// `governor audit replay` runs, on a fresh heap and file handle, not in the process that has just written 100,000 rows
// (whose garbage and warm write-path caches moved the figure by a fifth from run to run).
import { shipped, timeIt } from "./result.js";

const store = await shipped<typeof import("../src/audit/store.js")>("audit/store.js");
const { replayStored } = await shipped<typeof import("../src/audit/replay-pool.js")>("audit/replay-pool.js");
const { openAuditReader } = await shipped<typeof import("../src/store/open.js")>("store/open.js");

const file = process.argv[2];
if (!file) throw new Error("usage: replay-child.ts AUDIT_DB");
const trail = store.openAuditStore(file, { readonly: true });
// Baseline: reading and parsing every stored row, without evaluating it again; once before the replay and once after,
// their mean, so that a change in the machine's load during the replay falls on the baseline too.
const scanOnce = () =>
  timeIt(() => {
    let n = 0;
    for (const row of trail.iterate({})) n += (JSON.parse(row.input ?? "null") as unknown) ? 1 : 0;
    return n;
  }).ms;
const scanBefore = scanOnce();
// As `governor audit replay --all` replays: through the store's reader, the rows read here as stored, parsed and
// evaluated again by a worker thread per core.
const reader = await openAuditReader({ databasePath: file });
const started = process.hrtime.bigint();
const counts = { identical: 0, different: 0, older_evaluator: 0, skipped: 0 };
for await (const { result } of replayStored(reader.audit.iterateStored(), reader.audit.policyTexts())) counts[result.status] += 1;
const replay = { ms: Number(process.hrtime.bigint() - started) / 1e6, result: counts };
const scanMs = (scanBefore + scanOnce()) / 2;
trail.close();
await reader.close();
console.log(JSON.stringify({ replayMs: replay.ms, scanMs, counts: replay.result }));
