// Child process for the crash test: writes batches of 50 rows forever, until it is killed.
import { openAuditStore } from "../../src/audit/store.js";
import { entryFor } from "../helpers/audit.js";

const store = openAuditStore(process.argv[2] ?? "crash.db");
const template = entryFor({ files: ["docs/a.md"] });
for (let batch = 0; ; batch++) {
  store.recordBatch(Array.from({ length: 50 }, (_, i) => ({ ...template, pr: batch * 50 + i, delivery_id: `batch-${batch}` })));
  if (batch === 2) process.stdout.write("writing\n");
}
