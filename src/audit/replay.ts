// Replay: evaluate stored inputs again with the current evaluator and compare the bytes with what was decided then.
import { canonicalJson } from "../policy/canonical.js";
import { decide, PolicyCache } from "../policy/decide.js";
import { type Decision, EVALUATOR_VERSION } from "../policy/decision.js";
import { EvaluationInputSchema } from "../policy/input.js";
import type { AuditRow } from "./store.js";

export type ReplayResult =
  | { id: number; status: "identical" }
  | { id: number; status: "different"; fields: string[]; evaluatorChanged: boolean; stored: Decision; now: Decision }
  | { id: number; status: "skipped"; why: string };

export class Replayer {
  private readonly cache = new PolicyCache(1024);

  /** `input`, when given, is the row's input already parsed (see AuditStore.iterateParsed). */
  replay(row: AuditRow, input?: unknown): ReplayResult {
    if (row.input === null) return { id: row.id, status: "skipped", why: `not replayable: ${row.input_missing_reason ?? "no input recorded"}` };
    const parsed = EvaluationInputSchema.safeParse(input ?? JSON.parse(row.input));
    if (!parsed.success) return { id: row.id, status: "skipped", why: `not replayable: the stored input no longer parses (${parsed.error.issues[0]?.message ?? "invalid"})` };
    const now = decide(parsed.data, this.cache);
    const replayed = canonicalJson(now);
    if (replayed === row.decision) return { id: row.id, status: "identical" };
    const stored = JSON.parse(row.decision) as Decision;
    const fields = [...new Set([...Object.keys(stored), ...Object.keys(now)])]
      .filter((k) => canonicalJson((stored as Record<string, unknown>)[k]) !== canonicalJson((now as Record<string, unknown>)[k]))
      .sort();
    return { id: row.id, status: "different", fields, evaluatorChanged: row.evaluator_version !== EVALUATOR_VERSION, stored, now };
  }
}
