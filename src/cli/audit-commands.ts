// `governor audit list|show|replay|verify|export` and `governor simulate`: the audit trail from the command line, read through
// the AuditLog port from the SQLite file or from PostgreSQL (see storeLocation), the same output from either.
import { createWriteStream, existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { type Command, InvalidArgumentError, Option } from "commander";
import { exportRows } from "../audit/export.js";
import { Replayer, type ReplayResult } from "../audit/replay.js";
import { replayStored } from "../audit/replay-pool.js";
import { openAuditReader, type AuditReader } from "../store/open.js";
import { StoreError } from "../store/errors.js";
import { storeLocation } from "./store-commands.js";
import { checkNewPolicies, simulate } from "../audit/simulate.js";
import { AuditSchemaError, SCHEMA_VERSION } from "../audit/schema.js";
import { type AuditFilters, type AuditRow, openAuditStore } from "../audit/store.js";
import type { Decision } from "../policy/decision.js";
import { OUTCOMES } from "../policy/decision.js";
import type { EvaluationInput } from "../policy/input.js";
import { formatProblem } from "../policy/load.js";
import { type CliContext, EXIT, UsageError } from "./context.js";
import { renderDecision } from "./render-decision.js";
import { decisionTitle } from "../report/phrases.js";

interface FilterOptions {
  db?: string;
  repo?: string;
  pr?: number;
  agent?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit?: number;
  wouldBlock?: boolean;
  json?: boolean;
}

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number");
  return n;
};
const isoTime = (value: string) => {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("expected an ISO 8601 date or time");
  return new Date(value).toISOString();
};

function withFilters(cmd: Command, limitDefault?: number): Command {
  cmd
    .option("--db <path|url>", DB_HELP)
    .option("--repo <owner/name>", "only this repository")
    .option("--pr <number>", "only this PR", positiveInt)
    .option("--agent <name>", "only this agent")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices([...OUTCOMES]))
    .option("--would-block", "only decisions whose observe-mode rules would have blocked")
    .option("--since <iso>", "recorded at or after", isoTime)
    .option("--until <iso>", "recorded before", isoTime);
  if (limitDefault !== undefined) cmd.option("--limit <n>", "at most this many rows", positiveInt, limitDefault);
  else cmd.option("--limit <n>", "at most this many rows", positiveInt);
  return cmd;
}

function filtersOf(o: FilterOptions): AuditFilters {
  return {
    ...(o.repo !== undefined ? { repo: o.repo } : {}),
    ...(o.pr !== undefined ? { pr: o.pr } : {}),
    ...(o.agent !== undefined ? { agent: o.agent } : {}),
    ...(o.outcome !== undefined ? { outcome: o.outcome } : {}),
    ...(o.since !== undefined ? { since: o.since } : {}),
    ...(o.until !== undefined ? { until: o.until } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.wouldBlock ? { wouldBlock: true } : {}),
  };
}

export const DB_HELP = "a SQLite file or a postgres:// URL (default: DATABASE_URL, else DATABASE_PATH or ./governor.db)";

/**
 * Opens the trail read-only, wherever it is (storeLocation: a postgres:// --db or DATABASE_URL, else the file):
 * verifying or exporting (an archived copy, say) never changes it. A file that is not an audit database, or a trail an
 * older Governor wrote, is a clear error naming the command that upgrades it.
 */
export async function openReader(ctx: CliContext, db?: string): Promise<AuditReader> {
  const where = storeLocation(ctx, db);
  if (where.databaseUrl !== undefined) {
    try {
      return await openAuditReader(where);
    } catch (error) {
      if (error instanceof StoreError) throw new UsageError(error.message);
      // The server is not there, refuses us, or has no such database: say which database, never its password.
      const code = (error as { code?: string }).code;
      if (code !== undefined) throw new UsageError(`cannot read the audit trail at ${redacted(where.databaseUrl)}: ${(error as Error).message}`);
      throw error;
    }
  }
  const path = where.databasePath;
  if (!existsSync(path)) throw new UsageError(`no audit database at ${path} (set --db, DATABASE_URL or DATABASE_PATH)`);
  if (statSync(path).size === 0) throw new UsageError(`${path} is empty: not an audit database`);
  try {
    return await openAuditReader(where);
  } catch (error) {
    if (error instanceof AuditSchemaError && error.found === 0) throw new UsageError(`${path} is an SQLite database, but not a Governor audit database`);
    if (error instanceof AuditSchemaError && error.found < SCHEMA_VERSION) {
      throw new UsageError(
        `${path} has audit schema ${error.found}, older than this Governor's (${SCHEMA_VERSION}); upgrade it first with: governor audit migrate --db ${path}`,
      );
    }
    if (error instanceof AuditSchemaError) throw new UsageError(error.message);
    if ((error as { code?: string }).code === "SQLITE_NOTADB") throw new UsageError(`${path} is not an audit database (not an SQLite file)`);
    throw error;
  }
}

/** A database URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "the DATABASE_URL";
  }
}

/** Runs `fn` on the opened trail and closes it, whatever happens. */
/** Rows read through the store's filters, each replayed in this thread. */
async function* replayEach(rows: AsyncIterable<{ row: AuditRow; input: unknown }>): AsyncGenerator<{ row: AuditRow; result: ReplayResult }> {
  const replayer = new Replayer();
  for await (const { row, input } of rows) yield { row, result: replayer.replay(row, input) };
}

async function withReader<T>(ctx: CliContext, db: string | undefined, fn: (reader: AuditReader) => Promise<T>): Promise<T> {
  const reader = await openReader(ctx, db);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")).join("\n");
}

export function register(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("the audit trail: every decision with its inputs, in a hash chain");

  withFilters(audit.command("list").description("decisions, newest first"), 50)
    .option("--json", "as a JSON array")
    .action((o: FilterOptions) =>
      withReader(ctx, o.db, async ({ audit: log }) => {
        const rows = await log.list(filtersOf(o));
        if (o.json) return ctx.out(JSON.stringify(rows.map(summaryOf), null, 2));
        if (rows.length === 0) return ctx.out("no decisions match");
        ctx.out(
          table([
            ["ID", "TIME", "PR", "SHA", "AGENT", "OUTCOME", "TITLE"],
            ...rows.map((r) => [
              String(r.id),
              r.recorded_at.replace(/\.\d+Z$/, "Z"),
              `${r.repo}#${r.pr}`,
              r.head_sha.slice(0, 7),
              r.agent ?? "-",
              r.outcome,
              r.title,
            ]),
          ]),
        );
      }),
    );

  audit
    .command("show")
    .description("one decision and its inputs")
    .argument("<id>", "row id", positiveInt)
    .option("--db <path|url>", DB_HELP)
    .option("--json", "the raw row, decision and input parsed")
    .action((id: number, o: { db?: string; json?: boolean }) =>
      withReader(ctx, o.db, async ({ audit: log }) => {
        const row = await log.get(id);
        if (!row) {
          ctx.err(`no decision with id ${id}`);
          return ctx.exit(EXIT.usage);
        }
        if (o.json)
          return ctx.out(
            JSON.stringify({ ...row, decision: JSON.parse(row.decision) as unknown, input: row.input ? (JSON.parse(row.input) as unknown) : null }, null, 2),
          );
        ctx.out(showRow(row));
      }),
    );

  withFilters(audit.command("replay").description("evaluate stored inputs again; exit 1 if any decision differs"))
    .argument("[id]", "one row (default: with --all, every row matching the filters)", positiveInt)
    .option("--all", "every row matching the filters")
    .action(async (id: number | undefined, o: FilterOptions & { all?: boolean }) => {
      if (id === undefined && !o.all) throw new UsageError("give a row id, or --all");
      await withReader(ctx, o.db, async ({ audit: log }) => {
        const started = process.hrtime.bigint();
        const one = id !== undefined ? await log.get(id) : undefined;
        const filters = filtersOf(o);
        // The whole trail: read as stored and evaluated again on every core (src/audit/replay-pool.ts), reported in
        // its order. Some rows (filters): read through the store's filters and replayed here, one by one.
        const results: Iterable<{ row: AuditRow; result: ReplayResult }> | AsyncIterable<{ row: AuditRow; result: ReplayResult }> =
          id !== undefined
            ? one
              ? [{ row: one, result: new Replayer().replay(one) }]
              : []
            : Object.keys(filters).length === 0
              ? replayStored(log.iterateStored(), log.policyTexts())
              : replayEach(log.iterateParsed(filters));
        let replayed = 0,
          identical = 0,
          differing = 0,
          older = 0,
          skipped = 0;
        for await (const { row, result } of results) {
          if (result.status === "skipped") {
            skipped++;
            ctx.out(`row ${row.id}: skipped, ${result.why}`);
            continue;
          }
          replayed++;
          if (result.status === "identical") identical++;
          else if (result.status === "older_evaluator") {
            // Expected after an upgrade: not evidence of tampering, so it does not fail the command.
            older++;
            ctx.out(
              `row ${row.id} (${row.repo}#${row.pr}): recorded by evaluator ${result.recorded}, now ${result.now.evaluator_version}: not comparable byte for byte (differs in ${result.fields.join(", ")}; was "${result.stored.outcome}: ${decisionTitle(result.stored)}", now "${result.now.outcome}: ${decisionTitle(result.now)}")`,
            );
          } else {
            differing++;
            ctx.out(
              `row ${row.id} (${row.repo}#${row.pr}): differs in ${result.fields.join(", ")}: was "${result.stored.outcome}: ${decisionTitle(result.stored)}", now "${result.now.outcome}: ${decisionTitle(result.now)}" with the same evaluator ${row.evaluator_version}: the stored decision does not follow from its input`,
            );
          }
        }
        if (id !== undefined && replayed + skipped === 0) throw new UsageError(`no decision with id ${id}`);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        ctx.out(
          `replayed ${replayed}, identical ${identical}, differing ${differing}, older evaluator ${older}, skipped ${skipped} in ${(ms / 1000).toFixed(2)} s`,
        );
        ctx.exit(differing > 0 ? EXIT.internal : EXIT.ok);
      });
    });

  audit
    .command("verify")
    .description("walk the hash chain; exit 1 at the first broken link")
    .option("--db <path|url>", DB_HELP)
    .option(
      "--expect <id:sha256>",
      "a row id and hash prefix shown on GitHub (a check run's footer) that must still be in the trail; repeatable",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .action(async (o: { db?: string; expect: string[] }) => {
      const anchors = o.expect.map((v) => /^(\d+):([0-9a-fA-F]{8,64})$/.exec(v));
      const bad = o.expect.find((_, i) => !anchors[i]);
      if (bad !== undefined) throw new UsageError(`--expect ${bad}: write ROW:HASH, e.g. 42:3f2a9c0b1d4e5f60 (from the check run's footer)`);
      await withReader(ctx, o.db, async ({ audit: log }) => {
        const expect = anchors.map((m) => ({ id: Number(m![1]), hash: m![2]! }));
        const { rows, broken } = await log.verify({ expect });
        if (broken) {
          ctx.out(broken.id === null ? `audit trail damaged: ${broken.problem}` : `chain broken at row ${broken.id}: ${broken.problem}`);
          return ctx.exit(EXIT.internal);
        }
        ctx.out(
          `chain intact: ${rows} rows verified${o.expect.length ? `; ${o.expect.length} anchor${o.expect.length === 1 ? "" : "s"} from GitHub found` : ""}`,
        );
      });
    });

  withFilters(audit.command("export").description("stream decisions as JSON lines or CSV"))
    .addOption(new Option("--format <format>", "jsonl or csv").choices(["jsonl", "csv"]).default("jsonl"))
    .option("--out <file>", "write to a file instead of stdout")
    .action(async (o: FilterOptions & { format: "jsonl" | "csv"; out?: string }) => {
      await withReader(ctx, o.db, async ({ audit: log }) => {
        const sink = o.out ? createWriteStream(resolve(ctx.cwd, o.out)) : contextStream(ctx);
        const n = await exportRows(log.iterate(filtersOf(o)), o.format, sink);
        // A sink destroyed because its reader went away has nothing left to flush.
        if (!sink.destroyed) await new Promise<void>((done, fail) => sink.end((error?: Error | null) => (error ? fail(error) : done())));
        if (o.out) ctx.err(`exported ${n} rows to ${o.out}`);
      });
    });

  audit
    .command("migrate")
    .description("upgrade an audit database written by an older Governor (each step in a transaction)")
    .option("--db <path>", "the SQLite file (PostgreSQL: governor migrate)")
    .action(async (o: { db?: string }) => {
      const where = storeLocation(ctx, o.db);
      if (where.databaseUrl !== undefined) throw new UsageError("a PostgreSQL database is upgraded with governor migrate, which applies every store's steps");
      const path = where.databasePath;
      try {
        await (await openReader(ctx, o.db)).close();
        ctx.out(`${path}: already at audit schema ${SCHEMA_VERSION}`);
        return;
      } catch (error) {
        if (!(error instanceof UsageError) || !error.message.includes("governor audit migrate")) throw error;
      }
      const from = (error: unknown) => (error instanceof AuditSchemaError ? error.found : "?");
      let found: number | string = "?";
      try {
        openAuditStore(path, { readonly: true }).close();
      } catch (error) {
        found = from(error);
      }
      openAuditStore(path).close();
      ctx.out(`${path}: upgraded from audit schema ${found} to ${SCHEMA_VERSION}`);
    });

  withFilters(program.command("simulate").description("backtest a policy change on the latest decision of each recorded PR"))
    .requiredOption("--policy <file>", "the new repo policy")
    .option("--org-policy <file>", "the new org policy")
    .option("--json", "the report as JSON")
    .action(async (o: FilterOptions & { policy: string; orgPolicy?: string }) => {
      const read = (file: string) => {
        try {
          return readFileSync(resolve(ctx.cwd, file), "utf8");
        } catch (error) {
          throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        }
      };
      const policies = {
        repo: { text: read(o.policy), path: o.policy },
        ...(o.orgPolicy ? { org: { text: read(o.orgPolicy), path: o.orgPolicy } } : {}),
      };
      const check = checkNewPolicies(policies);
      if (!check.ok) {
        for (const e of check.errors) ctx.err(formatProblem(e));
        return ctx.exit(EXIT.usage);
      }
      await withReader(ctx, o.db, async ({ audit: log }) => {
        const report = await simulate(log.latestPerPr(filtersOf(o)), policies);
        if (o.json) return ctx.out(JSON.stringify(report, null, 2));
        ctx.out(`${report.considered} PRs considered; ${report.changed} would change`);
        for (const t of report.transitions) {
          ctx.out(`${t.from} -> ${t.to}: ${t.prs.length}`);
          if (t.from !== t.to) for (const pr of t.prs.slice(0, 50)) ctx.out(`  ${pr.repo}#${pr.pr} (row ${pr.id}): ${pr.title}`);
        }
        if (report.wouldBlock.length) {
          ctx.out(`observe mode would have blocked ${report.wouldBlock.length}:`);
          for (const w of report.wouldBlock.slice(0, 50)) ctx.out(`  ${w.repo}#${w.pr} (row ${w.id}): would be ${w.outcome} by ${w.rules.join(", ")}`);
        }
      });
    });
}

/** Where an export goes when no --out is given. To a real stdout it waits for each write to flush, so a slow reader
 * (a pipe, ssh) holds the export back instead of the whole trail piling up in memory. */
function contextStream(ctx: CliContext): Writable {
  const stdout = ctx.stdout;
  // Once the reader has gone (`export | head`), the rest is dropped quietly: nobody is left to read it.
  let gone = false;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (gone) return done();
      if (stdout) {
        stdout.write(chunk, (error?: Error | null) => {
          if (error && (error as NodeJS.ErrnoException).code === "EPIPE") {
            gone = true;
            done();
            // Destroyed (without an error): the export sees it and stops reading the trail.
            sink.destroy();
            return;
          }
          done(error ?? undefined);
        });
      } else {
        ctx.out(chunk.toString("utf8").replace(/\n$/, ""));
        done();
      }
    },
  });
  return sink;
}

function summaryOf(r: AuditRow) {
  return {
    id: r.id,
    recorded_at: r.recorded_at,
    delivery_id: r.delivery_id,
    repo: r.repo,
    pr: r.pr,
    head_sha: r.head_sha,
    base_sha: r.base_sha,
    agent: r.agent,
    outcome: r.outcome,
    title: r.title,
    evaluator_version: r.evaluator_version,
    hash: r.hash,
  };
}

function showRow(row: AuditRow): string {
  const decision = JSON.parse(row.decision) as Decision;
  const input = row.input ? (JSON.parse(row.input) as EvaluationInput) : null;
  const lines = [
    `Decision ${row.id}: ${row.repo}#${row.pr} at ${row.head_sha} (base ${row.base_sha})`,
    `Recorded ${row.recorded_at}${row.delivery_id ? `, delivery ${row.delivery_id}` : ""}${row.installation_id ? `, installation ${row.installation_id}` : ""}; evaluator ${row.evaluator_version}`,
    `Hash ${row.hash} (previous ${row.prev_hash.slice(0, 16)}…)`,
    "",
    renderDecision(decision),
    "",
  ];
  if (!input) {
    lines.push(`Inputs: not recorded (${row.input_missing_reason ?? "unknown"}); this row cannot be replayed.`);
    return lines.join("\n");
  }
  lines.push("Inputs:");
  for (const [name, source] of Object.entries(input.policies)) {
    if (source)
      lines.push(
        `  ${name} policy: ${source.repo ? `${source.repo}:` : ""}${source.path}${source.sha ? ` @ ${source.sha}` : ""} (${source.text.length} bytes)`,
      );
  }
  const c = input.change;
  lines.push(`  author: ${c.author.login} (${c.author.type}), branch ${c.head_branch || "-"}, labels [${c.labels.join(", ")}]${c.draft ? ", draft" : ""}`);
  lines.push(`  time: ${input.context.now}; agent PRs in the last 24 h: ${input.context.usage.prs_today}`);
  lines.push(`  files (${c.files.length}${c.total_files !== undefined && c.total_files !== c.files.length ? ` of ${c.total_files}` : ""}):`);
  for (const f of c.files.slice(0, 100))
    lines.push(`    ${f.status.padEnd(8)} ${f.previous_path ? `${f.previous_path} -> ` : ""}${f.path} (+${f.additions} -${f.deletions})`);
  if (c.files.length > 100) lines.push(`    … and ${c.files.length - 100} more (governor audit show ${row.id} --json)`);
  lines.push(`  reviews (${c.reviews.length}):`);
  for (const r of c.reviews) lines.push(`    ${r.state} by ${r.user.login} (${r.user.type}) on ${r.commit_id?.slice(0, 7) ?? "-"} at ${r.submitted_at ?? "-"}`);
  const teams = Object.entries(c.team_members);
  if (teams.length) lines.push(`  team members read: ${teams.map(([t, m]) => `${t}: ${m.join(", ") || "(none)"}`).join("; ")}`);
  return lines.join("\n");
}
