// `governor usage`: each agent's budget use in the current windows, against each limit, from the audit log (SQLite or PostgreSQL).
import { type Command, InvalidArgumentError } from "commander";
import { budgetUsage, type UsageRow } from "../audit/usage.js";
import { DB_HELP, openReader, table } from "./audit-commands.js";
import type { CliContext } from "./context.js";

interface UsageOptions {
  db?: string;
  org?: string;
  repo?: string;
  agent?: string;
  at?: string;
  json?: boolean;
}

const instant = (value: string) => {
  if (Number.isNaN(Date.parse(value))) throw new InvalidArgumentError("expected an ISO 8601 date or time");
  return new Date(value).toISOString();
};

function limitText(row: UsageRow): string {
  return row.limits.map((l) => `${l.id} ${l.used}/${l.limit}${l.over ? " (over)" : ""}`).join(", ") || "-";
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("usage")
    .description("each agent's PRs, lines and compute minutes in the last 24 hours and 7 days, per repository and org, against its limits")
    .option("--db <path|url>", DB_HELP)
    .option("--org <org>", "only this org: its repositories and its org-wide budgets")
    .option("--repo <owner/name>", "only this repository")
    .option("--agent <name>", "only this agent")
    .option("--at <iso>", "the windows ending at this time (default: now)", instant)
    .option("--json", "as a JSON array")
    .action(async (o: UsageOptions) => {
      const reader = await openReader(ctx, o.db);
      try {
        const rows = await budgetUsage(reader.audit, {
          now: o.at ? new Date(o.at) : new Date(),
          ...(o.org !== undefined ? { org: o.org } : {}),
          ...(o.repo !== undefined ? { repo: o.repo } : {}),
          ...(o.agent !== undefined ? { agent: o.agent } : {}),
        });
        if (o.json) return ctx.out(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return ctx.out("no agent PRs in the last 7 days match");
        ctx.out(
          table([
            ["SCOPE", "AGENT", "PRS 24H", "PRS 7D", "LINES 24H", "LINES 7D", "MIN 24H", "MIN 7D", "LIMITS (USED/LIMIT)"],
            ...rows.map((r) => [
              r.scope === "org" ? `org ${r.name}` : r.name,
              r.agent,
              String(r.prs.day),
              String(r.prs.week),
              String(r.lines.day),
              String(r.lines.week),
              String(r.compute.day),
              String(r.compute.week),
              limitText(r),
            ]),
          ]),
        );
      } finally {
        await reader.close();
      }
    });
}
