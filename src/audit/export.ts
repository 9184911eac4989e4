// Streams audit rows as JSON lines or CSV, one row at a time, waiting for the sink when it is full.
import type { Writable } from "node:stream";
import type { AuditRow } from "./store.js";
import { ruleReason } from "../report/phrases.js";
import type { Params } from "../policy/decision.js";
import type { LimitLike } from "../report/phrases.js";

export const CSV_COLUMNS = [
  "id",
  "recorded_at",
  "delivery_id",
  "repo",
  "pr",
  "head_sha",
  "base_sha",
  "agent",
  "outcome",
  "title",
  "evaluator_version",
  "hash",
] as const;
/** Read from each row's decision: the rules that applied (space-separated ids) and their reasons ("id: reason", " | "-separated). */
export const CSV_DECISION_COLUMNS = ["rules", "reasons"] as const;

function decisionFields(row: AuditRow): [string, string] {
  // v1 rows carry built-in reasons as text, v2 rows as codes: both are phrased the same way.
  const decision = JSON.parse(row.decision) as { rules?: Array<{ id: string; reason?: string; code?: string; params?: Params }>; limits?: LimitLike[] };
  const rules = decision.rules ?? [];
  const reasons = rules.map((r) => [r.id, ruleReason(r, { limits: decision.limits ?? [] })] as const).filter(([, why]) => why !== undefined);
  return [rules.map((r) => r.id).join(" "), reasons.map(([id, why]) => `${id}: ${why}`).join(" | ")];
}

/** RFC 4180: quote when needed, double the quotes inside. */
export function csvField(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function jsonLine(row: AuditRow): string {
  return `${JSON.stringify({
    ...row,
    decision: JSON.parse(row.decision) as unknown,
    input: row.input === null ? null : (JSON.parse(row.input) as unknown),
  })}\n`;
}

/**
 * Writes every row, then returns how many. Stops early, quietly, when `out` is destroyed (the reader went away:
 * `export | head`), so the rest of the trail is not read for nobody.
 */
export async function exportRows(rows: Iterable<AuditRow> | AsyncIterable<AuditRow>, format: "jsonl" | "csv", out: Writable): Promise<number> {
  let count = 0;
  const write = async (text: string) => {
    if (out.write(text)) return;
    // Whichever comes first, drain or close, removes the other listener: a long export waits thousands of times.
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off("drain", done);
        out.off("close", done);
        resolve();
      };
      out.once("drain", done);
      out.once("close", done);
    });
  };
  if (format === "csv") await write(`${[...CSV_COLUMNS, ...CSV_DECISION_COLUMNS].join(",")}\r\n`);
  for await (const row of rows) {
    if (out.destroyed) break;
    await write(format === "csv" ? `${[...CSV_COLUMNS.map((c) => row[c]), ...decisionFields(row)].map(csvField).join(",")}\r\n` : jsonLine(row));
    count++;
  }
  return count;
}
