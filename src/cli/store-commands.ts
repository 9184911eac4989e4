// `governor migrate`, `governor audit copy` and `governor audit backup`: the stores' schema, moving a trail from
// SQLite to PostgreSQL with its hashes, and a consistent copy of a live SQLite file.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import type { Command } from "commander";
import { copyAuditTrail } from "../store/copy.js";
import { StoreError } from "../store/errors.js";
import { isPostgresUrl, openStores, type StoreLocation, type Stores } from "../store/open.js";
import { type CliContext, EXIT, UsageError } from "./context.js";

/** A store named on the command line: `postgres://…`, `sqlite:FILE` or a plain file. */
function openNamed(ctx: CliContext, where: string): Stores {
  return openStores(isPostgresUrl(where) ? { databaseUrl: where, databasePath: "" } : { databasePath: resolve(ctx.cwd, where.replace(/^sqlite:/, "")) });
}

/**
 * Where a command's store is, chosen as `serve` chooses: a `--db` that is a postgres:// URL, or a file; without
 * --db, DATABASE_URL (PostgreSQL; any other kind is refused when opened), else DATABASE_PATH or ./governor.db.
 */
export function storeLocation(ctx: CliContext, db?: string): StoreLocation {
  if (db !== undefined) return isPostgresUrl(db) ? { databaseUrl: db, databasePath: "" } : { databasePath: resolve(ctx.cwd, db) };
  const url = ctx.env["DATABASE_URL"];
  return { ...(url ? { databaseUrl: url } : {}), databasePath: resolve(ctx.cwd, ctx.env["DATABASE_PATH"] ?? "governor.db") };
}

/** A store that cannot be opened as named (a DATABASE_URL that is not PostgreSQL, a bad schema name) is a usage error. */
function openOrRefuse(open: () => Stores): Stores {
  try {
    return open();
  } catch (error) {
    if (error instanceof StoreError && error.operation === "open") throw new UsageError(error.message);
    throw error;
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("bring the database schema up to date (PostgreSQL: DATABASE_URL; else DATABASE_PATH) and say what was applied")
    .option("--db <path|url>", "a SQLite file or a postgres:// URL (default: DATABASE_URL, else DATABASE_PATH or ./governor.db)")
    .action(async (o: { db?: string }) => {
      const stores = openOrRefuse(() => openStores(storeLocation(ctx, o.db)));
      try {
        for (const m of await stores.migrate()) {
          ctx.out(m.applied.length === 0 ? `${m.store}: schema ${m.to}, current` : `${m.store}: schema ${m.from} -> ${m.to}: ${m.applied.join("; ")}`);
        }
      } finally {
        await stores.close();
      }
    });

  const audit = program.commands.find((c) => c.name() === "audit") ?? program.command("audit");
  audit
    .command("copy")
    .description("copy the audit trail to another store with every id and hash intact, then verify the copy")
    .requiredOption("--from <store>", "sqlite:FILE or postgres://…")
    .requiredOption("--to <store>", "postgres://… or sqlite:FILE")
    .action(async (o: { from: string; to: string }) => {
      if (!isPostgresUrl(o.from) && !existsSync(resolve(ctx.cwd, o.from.replace(/^sqlite:/, "")))) throw new UsageError(`no audit database at ${o.from}`);
      const from = openOrRefuse(() => openNamed(ctx, o.from));
      const to = openOrRefuse(() => openNamed(ctx, o.to));
      try {
        await to.migrate();
        const result = await copyAuditTrail(from.audit, to.audit);
        ctx.out(
          `copied ${result.copied} rows (${result.skipped} already there), ${result.texts} policy texts, ${result.jobs} workflow jobs and ${result.reevaluations} scheduled re-evaluations`,
        );
        if (result.verified.broken) {
          ctx.out(`the copy does not verify: ${result.verified.broken.problem}`);
          return ctx.exit(EXIT.internal);
        }
        ctx.out(`copy verified: ${result.verified.rows} rows`);
      } finally {
        await from.close();
        await to.close();
      }
    });

  audit
    .command("backup")
    .description("a consistent copy of the SQLite audit file while serve runs (VACUUM INTO); for PostgreSQL use pg_dump")
    .argument("<file>", "where the copy goes (must not exist)")
    .option("--db <path>", "the SQLite file (default: DATABASE_PATH or ./governor.db)")
    .action((file: string, o: { db?: string }) => {
      if (o.db !== undefined && isPostgresUrl(o.db))
        throw new UsageError("a PostgreSQL database is backed up with pg_dump (see docs/operating.md), not governor audit backup");
      const source = resolve(ctx.cwd, o.db ?? ctx.env["DATABASE_PATH"] ?? "governor.db");
      if (!existsSync(source)) throw new UsageError(`no audit database at ${source}`);
      const target = resolve(ctx.cwd, file);
      if (existsSync(target)) throw new UsageError(`${target} exists; a backup never overwrites`);
      const db = new Database(source, { readonly: true });
      try {
        // One read transaction: the copy is the file as of one instant, WAL included (copying the file alone is not).
        db.prepare("VACUUM INTO ?").run(target);
      } finally {
        db.close();
      }
      ctx.out(`backed up ${source} to ${target}`);
    });
}
