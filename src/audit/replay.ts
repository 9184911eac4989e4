// Replay: evaluate stored inputs again with the current evaluator and compare the bytes with what was decided then.
import { canonicalJson } from "../policy/canonical.js";
import { decide, PolicyCache } from "../policy/decide.js";
import { type Decision, EVALUATOR_VERSION, type StoredDecision } from "../policy/decision.js";
import { compileFastCheck, UnsupportedSchemaError } from "../policy/fast-check.js";
import { type EvaluationInput, EvaluationInputSchema } from "../policy/input.js";
import type { AuditRow } from "./store.js";

export type ReplayResult =
  | { id: number; status: "identical" }
  /** Same evaluator version, different bytes: the stored decision does not follow from its input (tampering or a bug). */
  | { id: number; status: "different"; fields: string[]; evaluatorChanged: false; stored: StoredDecision; now: Decision }
  /** Recorded by an earlier evaluator version: not comparable byte for byte, which is expected, not tampering. */
  | { id: number; status: "older_evaluator"; recorded: string; fields: string[]; evaluatorChanged: true; stored: StoredDecision; now: Decision }
  | { id: number; status: "skipped"; why: string };

/**
 * Whether a stored input is valid exactly as stored (what the app wrote, defaults filled in): then it needs no copy by
 * zod. Anything else (an old row lacking a newer field's default, or one that no longer parses) goes through the schema.
 */
const validAsStored: ((value: unknown) => value is EvaluationInput) | null = (() => {
  try {
    return compileFastCheck(EvaluationInputSchema);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) return null;
    throw error;
  }
})();

/** A stored input parsed as the evaluator's input: the full schema's verdict, at less cost when it is valid as stored. */
export function parseStoredInput(value: unknown): ReturnType<typeof EvaluationInputSchema.safeParse> {
  return validAsStored?.(value) ? { success: true, data: value } : EvaluationInputSchema.safeParse(value);
}

export class Replayer {
  private readonly cache = new PolicyCache(1024);

  /** `input`, when given, is the row's input already parsed (see AuditStore.iterateParsed). */
  replay(row: AuditRow, input?: unknown): ReplayResult {
    if (row.input === null) return { id: row.id, status: "skipped", why: `not replayable: ${row.input_missing_reason ?? "no input recorded"}` };
    const parsed = parseStoredInput(input ?? JSON.parse(row.input));
    if (!parsed.success)
      return { id: row.id, status: "skipped", why: `not replayable: the stored input no longer parses (${parsed.error.issues[0]?.message ?? "invalid"})` };
    const now = decide(parsed.data, this.cache);
    const replayed = canonicalJson(now);
    if (replayed === row.decision) return { id: row.id, status: "identical" };
    const stored = JSON.parse(row.decision) as StoredDecision;
    const fields = [...new Set([...Object.keys(stored), ...Object.keys(now)])]
      .filter((k) => canonicalJson((stored as Record<string, unknown>)[k]) !== canonicalJson((now as Record<string, unknown>)[k]))
      .sort();
    if (row.evaluator_version !== EVALUATOR_VERSION)
      return { id: row.id, status: "older_evaluator", recorded: row.evaluator_version, fields, evaluatorChanged: true, stored, now };
    return { id: row.id, status: "different", fields, evaluatorChanged: false, stored, now };
  }
}
