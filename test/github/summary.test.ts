// The check run's text over GitHub's 65,535-character limit is cut with a note, and the note's count is exact.
import { describe, expect, it } from "vitest";
import { CHECK_TEXT_LIMIT, truncate } from "../../src/github/summary.js";

const omitted = (out: string) => Number(/… truncated: (\d+) more characters/.exec(out)?.[1]);
const keptPart = (out: string) => out.slice(0, out.indexOf("\n\n… truncated: "));

describe("truncate", () => {
  it("leaves a text within the limit as it is", () => {
    const text = "x".repeat(CHECK_TEXT_LIMIT);
    expect(truncate(text)).toBe(text);
  });

  it("stays within the limit and counts exactly the characters it left out", () => {
    for (const length of [CHECK_TEXT_LIMIT + 1, 100_000, 2_000_000]) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
      const out = truncate(text);
      expect(out.length).toBeLessThanOrEqual(CHECK_TEXT_LIMIT);
      expect(text.startsWith(keptPart(out))).toBe(true);
      expect(keptPart(out).length + omitted(out)).toBe(length);
    }
  });
});
