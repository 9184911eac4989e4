// Per-commit serialisation across replicas: a transaction-scoped advisory lock on the commit, held while `fn` reads the
// sibling PRs' decisions and completes the check, so the last report on a shared head has seen every decision.
import type pg from "pg";
import { inContext } from "../errors.js";
import type { CommitLocks } from "../ports.js";

export class PostgresCommitLocks implements CommitLocks {
  readonly kind = "postgres" as const;

  /** A pool of its own: holders run queries on the main pool inside `fn`, so they must never starve it. */
  constructor(private readonly pool: pg.Pool) {}

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const client = await inContext("postgres", "lock", () => this.pool.connect());
    let failed = false;
    try {
      await inContext("postgres", "lock", async () => {
        await client.query("BEGIN");
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`governor commit\n${key}`]);
      });
      try {
        return await fn();
      } finally {
        await client.query("COMMIT").catch(() => (failed = true));
      }
    } catch (error) {
      failed = true;
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release(failed);
    }
  }
}
