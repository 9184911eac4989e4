// The `--would-block` filter, one SQL clause for SQLite and PostgreSQL alike.

/**
 * Decisions with `observed` (observe-mode rules would have blocked). Decisions are stored as canonical JSON, so the key
 * and its object read exactly so; inside a string the quotes would be escaped, so text in a reason cannot match.
 */
export const WOULD_BLOCK_SQL = `decision LIKE '%"observed":{"outcome":%'`;
