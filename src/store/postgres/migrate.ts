// Each store's schema, versioned in governor_migrations (one row per applied step). Steps are applied in order inside
// one transaction under an advisory lock, so replicas starting together apply each step once.
import type pg from "pg";
import { StoreSchemaError } from "../errors.js";
import type { MigrationReport } from "../ports.js";

export interface Migration {
  /** Short and stable: recorded with the step, shown by `governor migrate`. Never edit a shipped one; add the next. */
  name: string;
  sql: string;
}

/** Serialises migrations of every store: "governor_migrations" as a lock key. */
const MIGRATION_LOCK = 0x676f_7601;

export async function migrate(pool: pg.Pool, store: string, steps: readonly Migration[]): Promise<MigrationReport> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    // The ledger of migrations is the one table made "if missing": it is what tells every other table's version.
    await client.query(`CREATE TABLE IF NOT EXISTS governor_migrations (
      store TEXT COLLATE "C" NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (store, version))`);
    const { rows } = await client.query<{ v: number | null }>("SELECT max(version) AS v FROM governor_migrations WHERE store = $1", [store]);
    const from = rows[0]?.v ?? 0;
    if (from > steps.length) {
      throw new StoreSchemaError(
        `the ${store} schema in PostgreSQL is at version ${from}, newer than this Governor understands (${steps.length}); upgrade Governor rather than risk the data`,
        store,
        from,
        steps.length,
      );
    }
    const applied: string[] = [];
    for (let v = from; v < steps.length; v++) {
      const step = steps[v] as Migration;
      await client.query(step.sql);
      await client.query("INSERT INTO governor_migrations (store, version, name) VALUES ($1, $2, $3)", [store, v + 1, step.name]);
      applied.push(step.name);
    }
    await client.query("COMMIT");
    return { store, from, to: steps.length, applied };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** What `migrate` would apply to `store` now, without applying it or creating anything (a reader's check). */
export async function pendingMigrations(pool: pg.Pool, store: string, steps: readonly Migration[]): Promise<MigrationReport> {
  // The ledger's absence is checked first: a statement naming a missing table fails as it is planned.
  const ledger = await pool.query<{ t: string | null }>("SELECT to_regclass('governor_migrations')::text AS t");
  const { rows } = ledger.rows[0]?.t
    ? await pool.query<{ v: number | null }>("SELECT max(version) AS v FROM governor_migrations WHERE store = $1", [store])
    : { rows: [] };
  const from = rows[0]?.v ?? 0;
  return { store, from, to: steps.length, applied: steps.slice(from).map((s) => s.name) };
}

/** Runs `fn` in one transaction on one connection of the pool. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    failed = true;
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    // A connection that failed mid-transaction may be broken: it is closed rather than handed out again.
    client.release(failed);
  }
}
