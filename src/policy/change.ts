// The input of an evaluation: everything about one pull request that a decision may depend on.
import * as z from "zod/mini";
import { described } from "./zod.js";

export const FILE_STATUSES = ["added", "removed", "modified", "renamed", "copied", "changed", "unchanged"] as const;

export const ChangedFileSchema = z.strictObject({
  path: z.string().check(z.minLength(1)),
  previous_path: z.optional(z.string().check(z.minLength(1))),
  status: z.enum(FILE_STATUSES),
  additions: z.number().check(z.int(), z.gte(0)),
  deletions: z.number().check(z.int(), z.gte(0)),
});
export type ChangedFile = z.infer<typeof ChangedFileSchema>;

export const ActorSchema = z.strictObject({
  login: z.string().check(z.minLength(1)),
  type: described(z._default(z.string(), "User"), "GitHub account type: User, Bot, Organization"),
});
export type Actor = z.infer<typeof ActorSchema>;

export const REVIEW_STATES = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"] as const;

export const ReviewSchema = z.strictObject({
  id: z.number().check(z.int()),
  user: ActorSchema,
  state: z.enum(REVIEW_STATES),
  commit_id: z.nullable(z.string()),
  submitted_at: z.nullable(z.string()),
});
export type Review = z.infer<typeof ReviewSchema>;

/** A break-glass override given on the PR (`/governance override <reason>`); it binds the head commit it was given for. */
export const OverrideSchema = z.strictObject({
  by: z.string().check(z.minLength(1)),
  reason: z.string(),
  at: z.string(),
  head_sha: z.string(),
  /** Whose `overrides` list named the person: it lifts only that file's rules. */
  source: z.enum(["org", "repo"]),
});
export type Override = z.infer<typeof OverrideSchema>;

export const ChangeSchema = z.strictObject({
  repo: z.strictObject({ owner: z.string().check(z.minLength(1)), name: z.string().check(z.minLength(1)) }),
  number: z._default(z.number().check(z.int(), z.gte(0)), 0),
  author: ActorSchema,
  head_branch: z._default(z.string(), ""),
  base_branch: z._default(z.string(), ""),
  head_sha: z._default(z.string(), ""),
  base_sha: z._default(z.string(), ""),
  draft: z._default(z.boolean(), false),
  /** When the PR was opened (ISO 8601); budgets count PRs by this time. */
  created_at: z.optional(z.string()),
  labels: z._default(z.array(z.string()), []),
  /** Logins and e-mails of commit authors and co-author trailers: agents that open PRs as a human leave them here. */
  commit_authors: z._default(z.array(z.string()), []),
  files: z.array(ChangedFileSchema),
  /** Number of files GitHub reports for the PR; larger than files.length when the list could not be fully read. */
  total_files: z.optional(z.number().check(z.int(), z.gte(0))),
  reviews: z._default(z.array(ReviewSchema), []),
  /** Known members of the teams named by approvers ("org/team" -> logins), as read for this evaluation. */
  team_members: z._default(z.record(z.string(), z.array(z.string())), {}),
  /** Logins of everyone who authored, committed or pushed commits in the PR: their reviews do not count as approvals (see approvers.allow_contributors). */
  contributors: z._default(z.array(z.string()), []),
  /** Agents that governed this PR on an earlier evaluation (recorded by the app): each still governs it, signal kind `recorded`. */
  known_agents: z._default(z.array(z.string()), []),
  /** Break-glass overrides recorded for this PR (checked by the app); only those for head_sha apply. */
  overrides: z._default(z.array(OverrideSchema), []),
  /** Forces the agent identity (CLI --agent). */
  agent_override: z.optional(z.string()),
});
export type Change = z.infer<typeof ChangeSchema>;
export type ChangeInput = z.input<typeof ChangeSchema>;

export const ContextSchema = z.strictObject({
  /** The evaluation time, ISO 8601; passed in so that evaluation stays pure and replayable. */
  now: z.string(),
  usage: z._default(
    z.strictObject({
      /** PRs this agent opened in this repo over the 24 h before `now`, this one included. */
      prs_today: z._default(z.number().check(z.int(), z.gte(0)), 0),
      /** The same count for each agent that matched the PR (by agent name); an agent without an entry falls back to prs_today. */
      prs_by_agent: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
      /** This PR's place among each agent's PRs in this repo over the 7 days before its opening (reserved atomically). */
      prs_by_agent_week: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
      /** The same across every repository of the org, over 24 hours and over 7 days. */
      org_prs_by_agent: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
      org_prs_by_agent_week: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
      /**
       * Minutes of each agent's workflow jobs completed in the window before `now` (whole minutes, rounded up per job), in
       * this repo and across the org, per day and week; `pr_day` / `pr_week` are the parts from runs on this PR's head branch.
       */
      compute_minutes: z.optional(
        z.strictObject({
          repo_day: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
          repo_week: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
          org_day: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
          org_week: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
          pr_day: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
          pr_week: z._default(z.record(z.string(), z.number().check(z.int(), z.gte(0))), {}),
        }),
      ),
    }),
    { prs_today: 0, prs_by_agent: {}, prs_by_agent_week: {}, org_prs_by_agent: {}, org_prs_by_agent_week: {} },
  ),
});
export type EvalContext = z.infer<typeof ContextSchema>;
