// The columns of an audit row (the `decisions` table), in the order every store reads, writes and copies them: the
// SQLite and PostgreSQL schemas hold the same row, and a copy between them moves it column for column.
export const DECISION_COLUMNS = [
  "id",
  "recorded_at",
  "delivery_id",
  "installation_id",
  "repo",
  "pr",
  "head_sha",
  "base_sha",
  "agent",
  "outcome",
  "evaluator_version",
  "title",
  "decision",
  "input",
  "input_missing_reason",
  "prev_hash",
  "hash",
] as const;
