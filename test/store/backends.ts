// The two stores the contract suite runs against: SQLite in a temp file, PostgreSQL on the run's own server (a schema
// per test, a database per file). Each gives fresh migrated stores, more connections to the same data, and raw SQL
// access for tampering.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { CLAIM_LOCK } from "../../src/store/postgres/delivery-queue.js";
import { openPostgresStores } from "../../src/store/postgres/index.js";
import type { AuditLog, BudgetCounter, CheckRunLeases, DeliveryQueue } from "../../src/store/ports.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { freshDatabase } from "../helpers/postgres.js";

export interface Stores {
  audit: AuditLog;
  queue: DeliveryQueue;
  checkRuns: CheckRunLeases;
  budget: BudgetCounter;
}

export interface Opened extends Stores {
  /** Another connection (SQLite) or pool (PostgreSQL) on the same data, as another replica would have. */
  connect(): Promise<Stores>;
  /** Runs SQL directly, as someone with access to the database could. */
  sql(text: string): Promise<void>;
  /** Holds what a claim that writes waits for (SQLite's write lock, PostgreSQL's claim lock) until the release is called. */
  blockClaims(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface Backend {
  name: "sqlite" | "postgres";
  open(opts?: { now?: () => Date }): Promise<Opened>;
}

/** A clock the test moves. */
export function manualClock(start = Date.parse("2026-11-24T12:00:00.000Z")): { now: () => Date; advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

export const sqliteBackend: Backend = {
  name: "sqlite",
  async open(opts = {}) {
    const path = join(mkdtempSync(join(tmpdir(), "governor-store-")), "governor.db");
    const closers: Array<() => Promise<void>> = [];
    const connect = async () => {
      const s = openSqliteStores(path, opts);
      closers.push(() => s.close());
      return s;
    };
    const first = await connect();
    return {
      ...first,
      connect,
      async sql(text) {
        const db = new Database(path);
        try {
          db.exec(text);
        } finally {
          db.close();
        }
      },
      blockClaims() {
        const db = new Database(path);
        db.exec("BEGIN IMMEDIATE");
        return Promise.resolve(() => {
          db.exec("ROLLBACK");
          db.close();
          return Promise.resolve();
        });
      },
      async close() {
        for (const close of closers.splice(0)) await close();
      },
    };
  },
};

let database: Promise<string> | undefined;
let schemas = 0;

export const postgresBackend: Backend = {
  name: "postgres",
  async open(opts = {}) {
    database ??= freshDatabase("store");
    const url = await database;
    const schema = `s${++schemas}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const closers: Array<() => Promise<void>> = [() => admin.end()];
    const connect = async () => {
      const s = openPostgresStores(url, { schema, max: 5, ...opts });
      closers.push(() => s.close());
      return s;
    };
    const first = await connect();
    await first.migrate();
    return {
      ...first,
      connect,
      async sql(text) {
        await admin.query(`SET search_path = ${schema}; ${text}`);
      },
      async blockClaims() {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query("SELECT pg_advisory_lock($1)", [CLAIM_LOCK]);
        return async () => {
          await client.query("SELECT pg_advisory_unlock($1)", [CLAIM_LOCK]);
          await client.end();
        };
      },
      async close() {
        for (const close of closers.splice(0).reverse()) await close();
      },
    };
  },
};

export const backends: Backend[] = [sqliteBackend, postgresBackend];
