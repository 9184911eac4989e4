// Which store a process uses: PostgreSQL when DATABASE_URL (or a command's --db) names one, else the SQLite file. The
// one place that decides; serve, reconcile and every CLI command open their stores through it.
import { StoreError } from "./errors.js";
import type { AuditReader, Stores } from "./ports.js";
import { openPostgresReader, openPostgresStores, type PostgresOptions } from "./postgres/index.js";
import { openSqliteReader, openSqliteStores } from "./sqlite/index.js";

export type { AuditReader, Stores };

export interface StoreLocation {
  /** `postgres://…` or `postgresql://…`: PostgreSQL. */
  databaseUrl?: string;
  /** The SQLite file, when no DATABASE_URL is given. */
  databasePath: string;
}

export const isPostgresUrl = (value: string | undefined): boolean => value !== undefined && /^postgres(ql)?:\/\//.test(value);

/** The PostgreSQL URL to use, or undefined for the SQLite file; a DATABASE_URL of another kind is refused. */
function postgresUrl(where: StoreLocation): string | undefined {
  if (where.databaseUrl === undefined || where.databaseUrl === "") return undefined;
  // Never fall back to the SQLite file: replicas that each wrote a file of their own would fork the trail.
  if (!isPostgresUrl(where.databaseUrl))
    throw new StoreError(
      `DATABASE_URL must be a postgres:// or postgresql:// URL (got ${where.databaseUrl.split(":")[0]}:…); unset it to use the SQLite file`,
      "postgres",
      "open",
    );
  return where.databaseUrl;
}

export function openStores(where: StoreLocation, opts: PostgresOptions = {}): Stores {
  const url = postgresUrl(where);
  return url !== undefined ? openPostgresStores(url, opts) : openSqliteStores(where.databasePath, opts.now ? { now: opts.now } : {});
}

/**
 * The trail opened for reading only: a SQLite file as it is (it must exist at the current schema; it is never
 * changed), or PostgreSQL, whose schema must be current (a StoreSchemaError says to run `governor migrate`).
 */
export async function openAuditReader(where: StoreLocation): Promise<AuditReader> {
  const url = postgresUrl(where);
  return url !== undefined ? await openPostgresReader(url) : openSqliteReader(where.databasePath);
}
