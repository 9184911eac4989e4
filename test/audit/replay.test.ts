// Replay through the store's reader (what `governor audit replay` runs): stored inputs read back, checked, decided again.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Replayer } from "../../src/audit/replay.js";
import { openAuditStore } from "../../src/audit/store.js";
import { entryFor, oneOfEach } from "../helpers/audit.js";
import { tempDir } from "../helpers/cli.js";

function replayAll(path: string) {
  const store = openAuditStore(path);
  const replayer = new Replayer();
  try {
    return [...store.iterateParsed({})].map(({ row, input }) => replayer.replay(row, input));
  } finally {
    store.close();
  }
}

describe("audit replay", () => {
  it("decides every recorded input again to the same bytes, and skips rows recorded without one", () => {
    const path = join(tempDir(), "audit.db");
    const store = openAuditStore(path);
    const entries = oneOfEach();
    store.recordBatch(entries);
    store.close();
    const results = replayAll(path);
    expect(results.map((r) => r.status)).toEqual(entries.map((e) => (e.input ? "identical" : "skipped")));
  });

  it("finds a stored decision different when only its keys' order was changed: the bytes are what is compared", () => {
    const entry = entryFor({ files: ["docs/a.md"] });
    const replayer = new Replayer();
    const stored = openAuditStore(join(tempDir(), "audit.db"));
    stored.record(entry);
    const row = stored.get(1)!;
    const { outcome, ...rest } = JSON.parse(row.decision) as Record<string, unknown>;
    const reordered = JSON.stringify({ outcome, ...rest });
    expect(reordered).not.toBe(row.decision);
    expect(replayer.replay(row).status).toBe("identical");
    expect(replayer.replay({ ...row, decision: reordered })).toMatchObject({ status: "different", fields: [] });
    stored.close();
  });

  it("skips a stored input that no longer parses, naming the schema's complaint", () => {
    const path = join(tempDir(), "audit.db");
    const store = openAuditStore(path);
    const entry = entryFor({ files: ["docs/a.md"] });
    const broken = structuredClone(entry.input!);
    broken.change.files[0]!.additions = -1;
    store.recordBatch([entry, { ...entry, pr: 8, input: broken }]);
    store.close();
    const [good, bad] = replayAll(path);
    expect(good?.status).toBe("identical");
    expect(bad).toMatchObject({ status: "skipped" });
    expect(bad?.status === "skipped" && bad.why).toMatch(/^not replayable: the stored input no longer parses \(.+\)$/);
  });

  it("replays a stored input from before a field existed, with that field's default", () => {
    const path = join(tempDir(), "audit.db");
    const store = openAuditStore(path);
    store.record(entryFor({ files: ["docs/a.md"] }));
    // As an older Governor wrote it: without fields that have defaults now.
    const row = store.db.prepare("SELECT input FROM decisions WHERE id = 1").get() as { input: string };
    const old = JSON.parse(row.input) as { change: Record<string, unknown> };
    delete old.change["known_agents"];
    delete old.change["overrides"];
    store.db.prepare("UPDATE decisions SET input = ? WHERE id = 1").run(JSON.stringify(old));
    store.close();
    expect(replayAll(path).map((r) => r.status)).toEqual(["identical"]);
  });
});
