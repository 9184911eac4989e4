// Replay: evaluate stored inputs again with the current evaluator and compare the bytes with what was decided then.
import { canonicalJson } from "../policy/canonical.js";
import { decide, PolicyCache } from "../policy/decide.js";
import { type Decision, EVALUATOR_VERSION, type StoredDecision } from "../policy/decision.js";
import { safeParseInput } from "../policy/parse-input.js";
import type { AuditRow } from "./store.js";

/** What replay reads of a row. */
export type ReplayedRow = Pick<AuditRow, "id" | "decision" | "input" | "input_missing_reason" | "evaluator_version">;

export type ReplayResult =
  | { id: number; status: "identical" }
  /** Same evaluator version, different bytes: the stored decision does not follow from its input (tampering or a bug). */
  | { id: number; status: "different"; fields: string[]; evaluatorChanged: false; stored: StoredDecision; now: Decision }
  /** Recorded by an earlier evaluator version: not comparable byte for byte, which is expected, not tampering. */
  | { id: number; status: "older_evaluator"; recorded: string; fields: string[]; evaluatorChanged: true; stored: StoredDecision; now: Decision }
  | { id: number; status: "skipped"; why: string };

export class Replayer {
  private readonly cache = new PolicyCache(1024);

  /** `input`, when given, is the row's input already parsed (see AuditStore.iterateParsed). */
  replay(row: ReplayedRow, input?: unknown): ReplayResult {
    if (row.input === null) return { id: row.id, status: "skipped", why: `not replayable: ${row.input_missing_reason ?? "no input recorded"}` };
    const parsed = safeParseInput(input ?? JSON.parse(row.input));
    if (!parsed.success)
      return { id: row.id, status: "skipped", why: `not replayable: the stored input no longer parses (${parsed.error.issues[0]?.message ?? "invalid"})` };
    const now = decide(parsed.data, this.cache);
    // The evaluator lists every object's keys in canonical order (test/policy/canonical.test.ts), so its plain JSON is
    // the canonical JSON the row holds: equal bytes are the same decision, without canonicalJson's check of the order.
    // Only when they differ is the canonical form computed, and compared.
    if (JSON.stringify(now) === row.decision || canonicalJson(now) === row.decision) return { id: row.id, status: "identical" };
    const stored = JSON.parse(row.decision) as StoredDecision;
    const fields = [...new Set([...Object.keys(stored), ...Object.keys(now)])]
      .filter((k) => canonicalJson((stored as Record<string, unknown>)[k]) !== canonicalJson((now as Record<string, unknown>)[k]))
      .sort();
    if (row.evaluator_version !== EVALUATOR_VERSION)
      return { id: row.id, status: "older_evaluator", recorded: row.evaluator_version, fields, evaluatorChanged: true, stored, now };
    return { id: row.id, status: "different", fields, evaluatorChanged: false, stored, now };
  }
}
