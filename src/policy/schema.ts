// The `.governance.yml` v1 schema: the single source of the policy types and of the exported JSON Schema.
import * as z from "zod/mini";
import { described } from "./zod.js";

export const POLICY_VERSION = 1;

/** Agents Governor knows how to recognise without configuration (see docs/agents.md). */
export const AGENT_PRESETS = ["copilot", "codex", "claude", "devin", "cursor", "jules", "openhands"] as const;
export const AgentPresetSchema = z.enum(AGENT_PRESETS);
export type AgentPreset = z.infer<typeof AgentPresetSchema>;

export const ACTIONS = ["allow", "require_approval", "deny"] as const;
export const ActionSchema = described(z.enum(ACTIONS), "allow | require_approval | deny");
export type Action = z.infer<typeof ActionSchema>;

/** Observe mode: the part is evaluated and recorded but never blocks (a rollout step before enforcing). */
export const MODES = ["observe", "enforce"] as const;
export const ModeSchema = described(z.enum(MODES), "observe: evaluated and recorded, never blocks | enforce: blocks");
export type Mode = z.infer<typeof ModeSchema>;

const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const TEAM = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/;
// A date (2026-12-31) or an ISO 8601 time with an explicit zone; bare local times would make decisions depend on the server's zone.
const WHEN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export const GlobSchema = described(
  z.string().check(z.minLength(1, "a glob must not be empty"), z.maxLength(1024, "a glob is limited to 1024 characters")),
  "minimatch glob with dot:true; a leading ! excludes",
);
export const GlobListSchema = z.array(GlobSchema).check(z.maxLength(1000, "at most 1000 globs in one list"));

export const ApproversSchema = z.strictObject({
  teams: z._default(z.array(z.string().check(z.regex(TEAM, "a team is written org/team-slug"))), []),
  users: z._default(z.array(z.string().check(z.regex(LOGIN, "not a valid GitHub login"))), []),
  count: described(z._default(z.number().check(z.int(), z.gte(1), z.lte(15)), 1), "distinct eligible approvals required"),
  allow_contributors: described(z._default(z.boolean(), false), "let people who authored, committed or pushed to the PR approve it"),
});
export type Approvers = z.infer<typeof ApproversSchema>;

export const CustomAgentSchema = z.strictObject({
  name: z.string().check(z.regex(SLUG, "an agent name is lower-case letters, digits and dashes")),
  logins: described(z._default(z.array(z.string().check(z.minLength(1))), []), "PR author logins, exact"),
  branches: described(z._default(GlobListSchema, []), "head branch globs"),
  labels: described(z._default(z.array(z.string().check(z.minLength(1))), []), "any of these labels marks the PR"),
  workflows: described(z._default(GlobListSchema, []), "GitHub Actions workflow names or paths (globs) whose jobs are this agent's compute"),
});
export type CustomAgent = z.infer<typeof CustomAgentSchema>;

export const AgentsSchema = z.strictObject({
  presets: z._default(z.union([z.literal("all"), z.array(AgentPresetSchema)]), "all"),
  custom: z._default(z.array(CustomAgentSchema), []),
});

/** A calendar date that exists (no 2026-13-45, no February 30th) and a time that parses. */
function realInstant(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d && !Number.isNaN(Date.parse(value));
}
const WhenSchema = z.string().check(z.regex(WHEN, "a date (YYYY-MM-DD) or an ISO time with a zone"), z.refine(realInstant, "not a real date or time"));

export const WindowSchema = z.strictObject({
  from: z.optional(WhenSchema),
  until: z.optional(WhenSchema),
});
export type ActiveWindow = z.infer<typeof WindowSchema>;

export const MatchSchema = z.strictObject({
  classes: z.optional(z.array(z.string().check(z.minLength(1)))),
  paths: z.optional(GlobListSchema),
  agents: described(z.optional(z.array(z.string().check(z.regex(SLUG)))), "only for these agents (preset or custom names)"),
});

export const RuleSchema = z.strictObject({
  id: z.string().check(z.regex(SLUG, "a rule id is lower-case letters, digits and dashes"), z.maxLength(64)),
  match: MatchSchema,
  action: ActionSchema,
  reason: z.optional(z.string().check(z.maxLength(2000))),
  active: z.optional(WindowSchema),
  escalate: z.optional(z.string().check(z.maxLength(2000))),
  approvers: z.optional(ApproversSchema),
  mode: described(z.optional(ModeSchema), "this rule's mode; the file's `mode` when absent"),
});
export type Rule = z.infer<typeof RuleSchema>;

const LimitNumber = z.optional(z.number().check(z.int(), z.gte(1)));

/** One agent's own numbers under `limits.agents.<name>`: they tighten the numbers above them for that agent. */
export const AgentLimitsSchema = z.strictObject({
  max_files: LimitNumber,
  max_lines: LimitNumber,
  max_prs_per_day: described(LimitNumber, "this agent's PRs in this repository over a rolling 24 hours"),
  max_prs_per_week: described(LimitNumber, "this agent's PRs in this repository over a rolling 7 days"),
  max_compute_minutes_per_day: described(LimitNumber, "minutes of this agent's workflow jobs in this repository over a rolling 24 hours"),
  max_compute_minutes_per_week: described(LimitNumber, "minutes of this agent's workflow jobs in this repository over a rolling 7 days"),
});
export type AgentLimits = z.infer<typeof AgentLimitsSchema>;

export const LimitsSchema = z.strictObject({
  max_files: LimitNumber,
  max_lines: LimitNumber,
  max_prs_per_day: LimitNumber,
  max_prs_per_week: LimitNumber,
  max_compute_minutes_per_day: LimitNumber,
  max_compute_minutes_per_week: LimitNumber,
  max_session_minutes: described(LimitNumber, "the longest one agent workflow run may take"),
  on_session_over: described(
    z._default(z.enum(["report", "cancel"]), "report"),
    "report: an audited report; cancel: cancel the run (needs the app's actions: write permission)",
  ),
  action: z._default(z.enum(["deny", "require_approval"]), "deny"),
  /** Per agent (preset or custom name): these numbers apply to that agent as well as the ones above; the smaller wins. */
  agents: z.optional(z.record(z.string(), AgentLimitsSchema)),
});

/** One agent's org-wide numbers under `org_limits.agents.<name>`. */
export const OrgAgentLimitsSchema = z.strictObject({
  max_prs_per_day: described(LimitNumber, "this agent's PRs across every repository of the org over a rolling 24 hours"),
  max_prs_per_week: described(LimitNumber, "this agent's PRs across every repository of the org over a rolling 7 days"),
  max_compute_minutes_per_day: LimitNumber,
  max_compute_minutes_per_week: LimitNumber,
});

/** Budgets counted across every repository of the org; only the org policy may set them. */
export const OrgLimitsSchema = z.strictObject({
  max_prs_per_day: described(LimitNumber, "each agent's PRs across every repository of the org over a rolling 24 hours"),
  max_prs_per_week: described(LimitNumber, "each agent's PRs across every repository of the org over a rolling 7 days"),
  max_compute_minutes_per_day: described(LimitNumber, "minutes of each agent's workflow jobs across the org over a rolling 24 hours"),
  max_compute_minutes_per_week: described(LimitNumber, "minutes of each agent's workflow jobs across the org over a rolling 7 days"),
  action: z._default(z.enum(["deny", "require_approval"]), "deny"),
  agents: z.optional(z.record(z.string(), OrgAgentLimitsSchema)),
});
export type OrgLimits = z.infer<typeof OrgLimitsSchema>;

export const LabelsSchema = z.strictObject({
  allowed: z._default(z.string().check(z.minLength(1), z.maxLength(50)), "governance: allowed"),
  needs_approval: z._default(z.string().check(z.minLength(1), z.maxLength(50)), "governance: needs approval"),
  denied: z._default(z.string().check(z.minLength(1), z.maxLength(50)), "governance: denied"),
});

export const ApprovalSettingsSchema = z.strictObject({
  invalidate_on_push: z._default(z.boolean(), true),
});

/** Who may break the glass: `/governance override <reason>` on a PR overrides this file's blocking decisions. */
export const OverridesSchema = z.strictObject({
  users: z._default(z.array(z.string().check(z.regex(LOGIN, "not a valid GitHub login"))), []),
  teams: z._default(z.array(z.string().check(z.regex(TEAM, "a team is written org/team-slug"))), []),
});
export type Overrides = z.infer<typeof OverridesSchema>;

export const PolicySchema = described(
  z.strictObject({
    version: z.literal(POLICY_VERSION),
    mode: described(z._default(ModeSchema, "enforce"), "the mode of this file's rules, default and limits"),
    overrides: z.optional(OverridesSchema),
    agents: z._default(AgentsSchema, { presets: "all", custom: [] }),
    scope: z._default(z.enum(["agents", "all"]), "agents"),
    classes: z._default(z.record(z.string().check(z.regex(/^[A-Za-z0-9_-]+$/, "a class name is letters, digits, _ and -")), GlobListSchema), {}),
    rules: z._default(z.array(RuleSchema).check(z.maxLength(500, "at most 500 rules")), []),
    default: z._default(ActionSchema, "require_approval"),
    default_approvers: z.optional(ApproversSchema),
    owners: z.optional(ApproversSchema),
    limits: z.optional(LimitsSchema),
    org_limits: described(z.optional(OrgLimitsSchema), "org-wide budgets: only valid in the org policy"),
    labels: z._default(LabelsSchema, {
      allowed: "governance: allowed",
      needs_approval: "governance: needs approval",
      denied: "governance: denied",
    }),
    approvals: z._default(ApprovalSettingsSchema, { invalidate_on_push: true }),
  }),
  "Governor policy (.governance.yml), version 1",
);

/** A policy as written, after defaults. */
export type Policy = z.infer<typeof PolicySchema>;
/** A policy as written, before defaults (what a YAML author types). */
export type PolicyInput = z.input<typeof PolicySchema>;

/** The JSON Schema of v1, for YAML language servers (`governor schema`). */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicySchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $id: "https://governor.dev/schema/governance-v1.json",
    title: "Governor policy v1",
    ...schema,
  };
}
