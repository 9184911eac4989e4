// Which audit source the dashboard reads: PostgreSQL when a database URL is given (as the stores choose, src/store/open.ts),
// else the SQLite file. One path for `governor serve` and `governor dashboard`.
import { StoreError } from "../store/errors.js";
import { PostgresAuditSource } from "./postgres-source.js";
import type { AuditSource } from "./source.js";
import { SqliteAuditSource } from "./sqlite-source.js";

/** Where the trail is: `databaseUrl` (postgres:// or postgresql://) wins over `databasePath`, as DATABASE_URL does in serve. */
export interface SourceLocation {
  databaseUrl?: string;
  databasePath?: string;
}

export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//.test(s);

/** Opens the trail read-only; a URL that is not PostgreSQL's is refused, never taken for a file name. */
export async function openAuditSource(where: SourceLocation, opts: { onError?: (error: Error) => void } = {}): Promise<AuditSource> {
  if (where.databaseUrl !== undefined && where.databaseUrl !== "") {
    if (!isPostgresUrl(where.databaseUrl))
      throw new StoreError(`the database URL must be a postgres:// or postgresql:// URL (got ${where.databaseUrl.split(":")[0]}:…)`, "postgres", "open");
    return PostgresAuditSource.open(where.databaseUrl, opts.onError ? { onError: opts.onError } : {});
  }
  if (where.databasePath === undefined) throw new StoreError("no audit trail given: a SQLite file or a postgres:// URL", "sqlite", "open");
  return SqliteAuditSource.open(where.databasePath);
}
