import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { PolicyTexts } from "../../src/audit/policy-texts.js";
import { type AuditStore, openAuditStore } from "../../src/audit/store.js";
import { tempDir } from "../helpers/cli.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const reference = (text: string) => `{"text":"\\u0000policy:sha256:${sha(text)}"}`;

let store: AuditStore | undefined;
afterEach(() => store?.close());

describe("PolicyTexts' read cache", () => {
  it("keeps the text read most recently when 256 others are read after it was first cached", () => {
    store = openAuditStore(join(tempDir(), "audit.db"));
    const texts = new PolicyTexts(store.db);
    const hot = "version: 1\ndefault: allow\n";
    const others = Array.from({ length: 256 }, (_, i) => `version: 1\ndefault: deny # ${i}\n`);
    texts.store([hot, ...others].map((text) => ({ sha256: sha(text), text })));
    // The hot text is read before and between the others, as replay reads an org policy between repository policies.
    for (const other of others) {
      expect(texts.hydrate(reference(hot))).toBe(`{"text":${JSON.stringify(hot)}}`);
      texts.hydrate(reference(other));
    }
    // Gone from the table: only the cache can still answer for it.
    store.db.prepare("DELETE FROM policy_texts WHERE sha256 = ?").run(sha(hot));
    expect(texts.hydrate(reference(hot))).toBe(`{"text":${JSON.stringify(hot)}}`);
  });
});
