// The `.governance.yml` v1 schema: the single source of the policy types and of the exported JSON Schema.
import * as z from "zod";

export const POLICY_VERSION = 1;

/** Agents Governor knows how to recognise without configuration (see docs/agents.md). */
export const AGENT_PRESETS = ["copilot", "codex", "claude", "devin", "cursor", "jules", "openhands"] as const;
export const AgentPresetSchema = z.enum(AGENT_PRESETS);
export type AgentPreset = z.infer<typeof AgentPresetSchema>;

export const ACTIONS = ["allow", "require_approval", "deny"] as const;
export const ActionSchema = z.enum(ACTIONS).describe("allow | require_approval | deny");
export type Action = z.infer<typeof ActionSchema>;

/** Observe mode: the part is evaluated and recorded but never blocks (a rollout step before enforcing). */
export const MODES = ["observe", "enforce"] as const;
export const ModeSchema = z.enum(MODES).describe("observe: evaluated and recorded, never blocks | enforce: blocks");
export type Mode = z.infer<typeof ModeSchema>;

const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const TEAM = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/;
// A date (2026-12-31) or an ISO 8601 time with an explicit zone; bare local times would make decisions depend on the server's zone.
const WHEN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export const GlobSchema = z
  .string()
  .min(1, "a glob must not be empty")
  .max(1024, "a glob is limited to 1024 characters")
  .describe("minimatch glob with dot:true; a leading ! excludes");
export const GlobListSchema = z.array(GlobSchema).max(1000, "at most 1000 globs in one list");

export const ApproversSchema = z.strictObject({
  teams: z.array(z.string().regex(TEAM, "a team is written org/team-slug")).default([]),
  users: z.array(z.string().regex(LOGIN, "not a valid GitHub login")).default([]),
  count: z.number().int().min(1).max(15).default(1).describe("distinct eligible approvals required"),
  allow_contributors: z.boolean().default(false).describe("let people who authored, committed or pushed to the PR approve it"),
});
export type Approvers = z.infer<typeof ApproversSchema>;

export const CustomAgentSchema = z.strictObject({
  name: z.string().regex(SLUG, "an agent name is lower-case letters, digits and dashes"),
  logins: z.array(z.string().min(1)).default([]).describe("PR author logins, exact"),
  branches: GlobListSchema.default([]).describe("head branch globs"),
  labels: z.array(z.string().min(1)).default([]).describe("any of these labels marks the PR"),
  workflows: GlobListSchema.default([]).describe("GitHub Actions workflow names or paths (globs) whose jobs are this agent's compute"),
});
export type CustomAgent = z.infer<typeof CustomAgentSchema>;

export const AgentsSchema = z.strictObject({
  presets: z.union([z.literal("all"), z.array(AgentPresetSchema)]).default("all"),
  custom: z.array(CustomAgentSchema).default([]),
});

/** A calendar date that exists (no 2026-13-45, no February 30th) and a time that parses. */
function realInstant(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d && !Number.isNaN(Date.parse(value));
}
const WhenSchema = z.string().regex(WHEN, "a date (YYYY-MM-DD) or an ISO time with a zone").refine(realInstant, "not a real date or time");

export const WindowSchema = z.strictObject({
  from: WhenSchema.optional(),
  until: WhenSchema.optional(),
});
export type ActiveWindow = z.infer<typeof WindowSchema>;

export const MatchSchema = z.strictObject({
  classes: z.array(z.string().min(1)).optional(),
  paths: GlobListSchema.optional(),
  agents: z.array(z.string().regex(SLUG)).optional().describe("only for these agents (preset or custom names)"),
});

export const RuleSchema = z.strictObject({
  id: z.string().regex(SLUG, "a rule id is lower-case letters, digits and dashes").max(64),
  match: MatchSchema,
  action: ActionSchema,
  reason: z.string().max(2000).optional(),
  active: WindowSchema.optional(),
  escalate: z.string().max(2000).optional(),
  approvers: ApproversSchema.optional(),
  mode: ModeSchema.optional().describe("this rule's mode; the file's `mode` when absent"),
});
export type Rule = z.infer<typeof RuleSchema>;

const LimitNumber = z.number().int().min(1).optional();

/** One agent's own numbers under `limits.agents.<name>`: they tighten the numbers above them for that agent. */
export const AgentLimitsSchema = z.strictObject({
  max_files: LimitNumber,
  max_lines: LimitNumber,
  max_prs_per_day: LimitNumber.describe("this agent's PRs in this repository over a rolling 24 hours"),
  max_prs_per_week: LimitNumber.describe("this agent's PRs in this repository over a rolling 7 days"),
  max_compute_minutes_per_day: LimitNumber.describe("minutes of this agent's workflow jobs in this repository over a rolling 24 hours"),
  max_compute_minutes_per_week: LimitNumber.describe("minutes of this agent's workflow jobs in this repository over a rolling 7 days"),
});
export type AgentLimits = z.infer<typeof AgentLimitsSchema>;

export const LimitsSchema = z.strictObject({
  max_files: LimitNumber,
  max_lines: LimitNumber,
  max_prs_per_day: LimitNumber,
  max_prs_per_week: LimitNumber,
  max_compute_minutes_per_day: LimitNumber,
  max_compute_minutes_per_week: LimitNumber,
  max_session_minutes: LimitNumber.describe("the longest one agent workflow run may take"),
  on_session_over: z
    .enum(["report", "cancel"])
    .default("report")
    .describe("report: an audited report; cancel: cancel the run (needs the app's actions: write permission)"),
  action: z.enum(["deny", "require_approval"]).default("deny"),
  /** Per agent (preset or custom name): these numbers apply to that agent as well as the ones above; the smaller wins. */
  agents: z.record(z.string(), AgentLimitsSchema).optional(),
});

/** One agent's org-wide numbers under `org_limits.agents.<name>`. */
export const OrgAgentLimitsSchema = z.strictObject({
  max_prs_per_day: LimitNumber.describe("this agent's PRs across every repository of the org over a rolling 24 hours"),
  max_prs_per_week: LimitNumber.describe("this agent's PRs across every repository of the org over a rolling 7 days"),
  max_compute_minutes_per_day: LimitNumber,
  max_compute_minutes_per_week: LimitNumber,
});

/** Budgets counted across every repository of the org; only the org policy may set them. */
export const OrgLimitsSchema = z.strictObject({
  max_prs_per_day: LimitNumber.describe("each agent's PRs across every repository of the org over a rolling 24 hours"),
  max_prs_per_week: LimitNumber.describe("each agent's PRs across every repository of the org over a rolling 7 days"),
  max_compute_minutes_per_day: LimitNumber.describe("minutes of each agent's workflow jobs across the org over a rolling 24 hours"),
  max_compute_minutes_per_week: LimitNumber.describe("minutes of each agent's workflow jobs across the org over a rolling 7 days"),
  action: z.enum(["deny", "require_approval"]).default("deny"),
  agents: z.record(z.string(), OrgAgentLimitsSchema).optional(),
});
export type OrgLimits = z.infer<typeof OrgLimitsSchema>;

export const LabelsSchema = z.strictObject({
  allowed: z.string().min(1).max(50).default("governance: allowed"),
  needs_approval: z.string().min(1).max(50).default("governance: needs approval"),
  denied: z.string().min(1).max(50).default("governance: denied"),
});

export const ApprovalSettingsSchema = z.strictObject({
  invalidate_on_push: z.boolean().default(true),
});

/** Who may break the glass: `/governance override <reason>` on a PR overrides this file's blocking decisions. */
export const OverridesSchema = z.strictObject({
  users: z.array(z.string().regex(LOGIN, "not a valid GitHub login")).default([]),
  teams: z.array(z.string().regex(TEAM, "a team is written org/team-slug")).default([]),
});
export type Overrides = z.infer<typeof OverridesSchema>;

export const PolicySchema = z
  .strictObject({
    version: z.literal(POLICY_VERSION),
    mode: ModeSchema.default("enforce").describe("the mode of this file's rules, default and limits"),
    overrides: OverridesSchema.optional(),
    agents: AgentsSchema.default({ presets: "all", custom: [] }),
    scope: z.enum(["agents", "all"]).default("agents"),
    classes: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, "a class name is letters, digits, _ and -"), GlobListSchema).default({}),
    rules: z.array(RuleSchema).max(500, "at most 500 rules").default([]),
    default: ActionSchema.default("require_approval"),
    default_approvers: ApproversSchema.optional(),
    owners: ApproversSchema.optional(),
    limits: LimitsSchema.optional(),
    org_limits: OrgLimitsSchema.optional().describe("org-wide budgets: only valid in the org policy"),
    labels: LabelsSchema.default({
      allowed: "governance: allowed",
      needs_approval: "governance: needs approval",
      denied: "governance: denied",
    }),
    approvals: ApprovalSettingsSchema.default({ invalidate_on_push: true }),
  })
  .describe("Governor policy (.governance.yml), version 1");

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
