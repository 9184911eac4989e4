// The one place Governor's English about a decision lives: every renderer (check run Markdown, CLI text, dashboard
// HTML, the audit row's title) phrases the same structured tree through these functions. v1 decisions recorded their
// prose; they are shown as recorded.
import type { AppliedRule, Coded, Outcome, StoredDecision } from "../policy/decision.js";

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const str = (v: string | number | boolean | null | undefined): string => (v === null || v === undefined ? "" : String(v));
const num = (v: unknown): number => (typeof v === "number" ? v : Number(v ?? 0));

const WOULD: Record<Outcome, string> = {
  denied: "would deny",
  needs_approval: "would need approval",
  allowed: "would allow",
  not_governed: "would not govern",
  error: "would fail",
};

function deciding(d: StoredDecision): AppliedRule[] {
  return d.rules.filter((r) => r.mode !== "observe" && r.overridden_by === undefined);
}

/** The check run's title and the audit row's `title` column. */
export function decisionTitle(d: StoredDecision): string {
  if (d.schema === "governor.decision/v1") return d.title;
  const base = d.override ? `Overridden by ${d.override.by.map((b) => `@${b}`).join(", ")}` : baseTitle(d);
  return d.observed ? `${base} · Observe: ${WOULD[d.observed.outcome]} (${d.observed.rules.join(", ")})` : base;
}

function baseTitle(d: StoredDecision): string {
  if (d.cause) return causeTitle(d.cause);
  const rules = deciding(d);
  const denies = rules.filter((r) => r.action === "deny");
  const gates = rules.filter((r) => r.gate);
  const met = gates.filter((r) => r.gate?.met).length;
  switch (d.outcome) {
    case "denied":
      return `Denied: ${denies
        .slice(0, 3)
        .map((r) => r.id)
        .join(", ")}${denies.length > 3 ? ` (+${denies.length - 3} more)` : ""}`;
    case "needs_approval":
      return `Needs approval: ${met} of ${plural(gates.length, "gate")} met`;
    case "allowed":
      return `Allowed: ${plural(d.files_considered, "file")} within policy`;
    case "error":
      return "Error";
    default:
      return "Not governed: the author is not an agent";
  }
}

export function causeTitle(c: Coded): string {
  const p = c.params;
  switch (c.code) {
    case "no_policy":
      return "Not governed: no policy";
    case "no_agent_matched":
      return "Not governed: the author is not an agent";
    case "released":
      return `Released from agent governance by @${str(p["by"])}`;
    case "session_over_limit":
      return `${p["action"] === "cancelled" ? "Cancelled" : "Reported"}: ${str(p["agent"])}'s run ${str(p["run"])} over max_session_minutes (${str(p["minutes"])} of ${str(p["limit"])})`;
    // `detail` is the failure the app met (GitHub's status and route, a payload field): data, like the errors' messages.
    case "github_failure":
      return `Error: ${str(p["detail"])}`;
    case "org_policy_required":
      return "Error: the org policy cannot be read";
    case "policy_conflict":
      return "Invalid policy: two policy files";
    case "unreadable_payload":
      return "Error: unreadable webhook payload";
    case "merge_group_unevaluated":
      return "Error: the merge group holds no PR Governor could evaluate";
    // Rows of evaluator 1.5 and earlier stored the app's headline in English.
    case "error":
      return str(p["headline"]) || "Error";
    case "invalid_policy":
      return `Invalid policy: ${plural(num(p["errors"]), "error")}`;
    case "override_refused":
      return `Override refused for @${str(p["by"])}`;
    default:
      return `${c.code}`;
  }
}

/** The decision's one-paragraph explanation (the check run's summary, the CLI's report). */
export function decisionSummary(d: StoredDecision): string {
  if (d.schema === "governor.decision/v1") return d.summary;
  const summary = baseSummary(d);
  if (d.override)
    return `${summary} Overridden by ${d.override.by.map((b) => `@${b}`).join(", ")} at ${d.override.at}: ${d.override.reason} (lifted ${d.override.rules.join(", ")}; binds head ${d.head_sha.slice(0, 12)} only).`;
  if (d.observed)
    return `${summary} Observe mode: enforcing ${d.observed.rules.join(", ")} would make this ${d.observed.outcome.replace("_", " ")}; they do not block yet.`;
  return summary;
}

function errorList(d: StoredDecision): string {
  const list = d.errors.map((e) => `${e.file ? `${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ""}: ` : ""}${e.field ? `${e.field}: ` : ""}${e.message}`);
  return `${list.slice(0, 5).join("; ")}${list.length > 5 ? `; and ${list.length - 5} more` : ""}`;
}

function baseSummary(d: StoredDecision): string {
  const p = d.cause?.params ?? {};
  switch (d.cause?.code) {
    case "no_policy":
      return 'Not governed: neither the repository (.governance.yml or .github/governance.yml on the base branch) nor the organization (governance.yml in its .github repository) has a Governor policy. If the organization\'s .github repository does hold one, install Governor on that repository too: GitHub answers "not found" for a repository an app cannot see.';
    case "no_agent_matched":
      return `Not governed: ${str(p["author"])} is not an agent under this policy (author, branch, labels and commits matched no agent). Governor only governs agent-authored PRs under this policy (scope: agents).`;
    case "released":
      return `@${str(p["by"])}, an owner of the policy, released #${str(p["pr"])} from the agent identity it had (${str(p["was"])}): ${str(p["reason"])}. Its own signals still apply on the next evaluation.`;
    case "session_over_limit":
      return str(p["detail"]);
    case "override_refused":
      return `@${str(p["by"])} asked to override #${str(p["pr"])} at ${str(p["head"])}: ${str(p["why"])}`;
    default:
      break;
  }
  if (d.outcome === "error") return `Governor could not decide, so the check fails closed. ${errorList(d)}`;
  const rules = deciding(d);
  const gates = rules.filter((r) => r.gate);
  const met = gates.filter((r) => r.gate?.met).length;
  const named = d.agents.map((a) => `${a.name} (identified by ${a.signals.map((s) => `${s.kind} ${s.value}`).join(", ")})`);
  const who =
    named.length === 0
      ? "The author"
      : named.length === 1
        ? `The agent ${named[0]}`
        : `The agents ${named.slice(0, -1).join(", ")} and ${named[named.length - 1]}`;
  const files = plural(d.files_considered, "file");
  if (d.outcome === "denied") {
    const denies = rules.filter((r) => r.action === "deny");
    const first = denies[0];
    const why = first ? ruleReason(first, d) : undefined;
    return `${who} changed ${files}. Denied by ${denies.map((r) => r.id).join(", ")}${why ? `: ${why}` : "."}${first && escalationText(first) ? ` Escalation: ${escalationText(first)}.` : ""}`.replace(
      /\.\.$/,
      ".",
    );
  }
  if (d.outcome === "needs_approval") {
    const open = gates
      .filter((g) => !g.gate?.met)
      .map((g) => {
        const gate = g.gate!;
        const holders = gate.changes_requested_by.length ? `; changes requested by ${gate.changes_requested_by.join(", ")}` : "";
        return `${g.id} (${gate.approved_by.length} of ${gate.approvers.count} from ${[...gate.approvers.teams.map((t) => `@${t}`), ...gate.approvers.users.map((u) => `@${u}`)].join(", ") || "nobody: no approvers configured"}${holders})`;
      });
    return `${who} changed ${files}. ${met} of ${gates.length} approval gate${gates.length === 1 ? " is" : "s are"} met; still needed: ${open.join("; ")}.`;
  }
  return `${who} changed ${files}. Every file is allowed by the policy${gates.length ? ` and all ${gates.length} approval gate${gates.length === 1 ? " is" : "s are"} met` : ""}.`;
}

const IGNORED: Record<string, string> = {
  author: "the PR author cannot approve their own PR",
  automated: "bots and agents cannot approve",
  not_approver: "not an approver for this gate",
  contributor: "contributed to this PR",
  stale: "approved an earlier commit; the approval was invalidated by a push",
};

/** Why an approval was not counted: v2's code phrased, or v1's recorded sentence. */
/** Whom to ask about a blocking rule: the author's `escalate`, else the coded default (v1 rows stored it as English). */
export function escalationText(rule: { escalate?: string | undefined; escalation?: Coded | undefined }): string | undefined {
  if (rule.escalate !== undefined) return rule.escalate;
  const c = rule.escalation;
  if (!c) return undefined;
  switch (c.code) {
    case "policy_owners":
      return `Ask the policy owners: ${str(c.params["owners"])}`;
    case "repo_admins":
      return "Ask the repository administrators (the policy names no owners)";
    default:
      return `Ask the policy owners (escalation ${c.code})`;
  }
}

export function ignoredWhy(i: { code?: string | undefined; why?: string | undefined }): string {
  if (i.why !== undefined) return i.why;
  return (i.code !== undefined ? IGNORED[i.code] : undefined) ?? i.code ?? "not counted";
}

/** A rule's "why": the policy author's `reason` as written, else the phrasing of its code (built-ins, defaults, limits). */
/** A budget row as any reader has it (v1 rows before 1.3.0 lack scope, agent and share). */
export interface LimitLike {
  id: string;
  limit: number;
  actual: number;
  exceeded: boolean;
  scope?: unknown;
  agent?: unknown;
  share?: unknown;
}

export function ruleReason(rule: Pick<AppliedRule, "id" | "reason" | "code" | "params">, d?: { limits: readonly LimitLike[] }): string | undefined {
  if (rule.reason !== undefined) return rule.reason;
  if (rule.code === undefined) return undefined;
  const p = rule.params ?? {};
  switch (rule.code) {
    case "incomplete_file_list":
      return p["total"] === null
        ? `GitHub listed ${str(p["listed"])} files, the most it lists, and the PR's own count of changed files is unknown, so Governor cannot tell whether it saw the whole change. Split it into smaller PRs.`
        : `The PR changes ${str(p["total"])} files; GitHub lists at most ${str(p["cap"])}, so Governor cannot see the whole change. Split it into smaller PRs.`;
    case "policy_file_changed":
      return "The change edits a governance policy file; the policy owners must approve it, whatever the rules say.";
    case "default": {
      const source = p["source"] === null || p["source"] === undefined ? null : str(p["source"]);
      const none = source ? `No rule of the ${source} policy covers these files` : "No rule covers these files";
      const whose = source ? `the ${source} policy's default` : "the policy's default";
      return p["action"] === "allow"
        ? `${none}; ${whose} allows them.`
        : p["action"] === "deny"
          ? `${none}, and ${whose} denies what no rule allows.`
          : `${none}; ${whose} requires an approval.`;
    }
    case "limit_exceeded": {
      const key = str(p["key"]);
      const rows = (d?.limits ?? []).filter((l) => l.id === rule.id && l.exceeded);
      const shown =
        rows.length > 0
          ? rows
          : [{ actual: num(p["used"]) + num(p["share"]), limit: num(p["limit"]), scope: p["scope"], agent: p["agent"], share: num(p["share"]) }];
      return shown.map((l) => limitReason(key, l)).join(" ");
    }
    default:
      return rule.code;
  }
}

function limitReason(key: string, row: Omit<LimitLike, "id" | "exceeded">): string {
  const limit = {
    actual: row.actual,
    limit: row.limit,
    scope: row.scope === "org" ? "org" : "repo",
    agent: typeof row.agent === "string" ? row.agent : null,
    share: typeof row.share === "number" ? row.share : 0,
  };
  const whose = limit.agent ? `the agent ${limit.agent}'s` : "the agent's";
  const where = limit.scope === "org" ? "across the org's repositories" : "in this repository";
  switch (key) {
    case "max_files":
      return `The PR changes ${limit.actual} files; ${whose} budget is ${limit.limit} per PR.`;
    case "max_lines":
      return `The PR changes ${limit.actual} lines (additions + deletions); ${whose} budget is ${limit.limit} per PR.`;
    case "max_compute_minutes_per_day":
    case "max_compute_minutes_per_week":
      return `${limit.agent ? `The agent ${limit.agent}` : "The agent"} has used ${limit.actual} minutes of workflow jobs ${where} in the last ${key.endsWith("week") ? "7 days" : "24 hours"} (${limit.share ?? 0} of them on this PR's branch); its compute budget is ${limit.limit} minutes a ${key.endsWith("week") ? "week" : "day"}.`;
    case "max_prs_per_week":
      return `This is ${whose} PR number ${limit.actual} ${where} within 7 days of its opening; its budget is ${limit.limit} a week.`;
    default:
      return `This is ${whose} PR number ${limit.actual} ${where} within 24 hours of its opening; its budget is ${limit.limit} a day.`;
  }
}
