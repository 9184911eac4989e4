// Streams audit rows as JSON lines or CSV, one row at a time, waiting for the sink when it is full.
import type { Writable } from "node:stream";
import type { AuditRow } from "./store.js";

export const CSV_COLUMNS = ["id", "recorded_at", "delivery_id", "repo", "pr", "head_sha", "base_sha", "agent", "outcome", "title", "evaluator_version", "hash"] as const;

/** RFC 4180: quote when needed, double the quotes inside. */
export function csvField(value: unknown): string {
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

export async function exportRows(rows: Iterable<AuditRow>, format: "jsonl" | "csv", out: Writable): Promise<number> {
  let count = 0;
  const write = async (text: string) => {
    if (!out.write(text)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  };
  if (format === "csv") await write(`${CSV_COLUMNS.join(",")}\r\n`);
  for (const row of rows) {
    await write(format === "csv" ? `${CSV_COLUMNS.map((c) => csvField(row[c])).join(",")}\r\n` : jsonLine(row));
    count++;
  }
  return count;
}
