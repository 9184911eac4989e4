// The check run's text: a markdown account of the decision that a reviewer can act on, inside GitHub's limits.
import type { AppliedRule, StoredDecision, Decision, PolicyRef } from "../policy/decision.js";
import { decisionSummary } from "../report/phrases.js";
import { escalationText, ignoredWhy, ruleReason } from "../report/phrases.js";

/** GitHub's limit on output.summary and output.text. */
export const CHECK_TEXT_LIMIT = 65_535;
const FILES_PER_RULE = 25;

const ICON: Record<Decision["outcome"], string> = {
  allowed: "✅",
  needs_approval: "⏳",
  denied: "⛔",
  not_governed: "➖",
  error: "❗",
};

export function policyLink(ref: PolicyRef, htmlBase: string): string | null {
  if (ref.source === "builtin" || !ref.repo || !ref.path) return null;
  const at = ref.sha ?? "HEAD";
  return `${htmlBase}/${ref.repo}/blob/${at}/${ref.path}${ref.line ? `#L${ref.line}` : ""}`;
}

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const who = (a: { teams: string[]; users: string[] }) =>
  [...a.teams.map((t) => `@${t}`), ...a.users.map((u) => `@${u}`)].join(", ") || "nobody (no approvers configured)";

function ruleSection(rule: AppliedRule, decision: StoredDecision, htmlBase: string): string {
  const lines: string[] = [];
  const state = rule.gate ? (rule.gate.met ? "met" : "**not met**") : rule.action === "deny" ? "**denied**" : "allowed";
  const tag = rule.mode === "observe" ? " · observe mode, not enforced" : rule.overridden_by ? ` · overridden by @${rule.overridden_by}` : "";
  lines.push(`#### ${code(rule.id)}: ${rule.action.replace("_", " ")} (${state})${tag}`);
  const why = ruleReason(rule, decision);
  if (why) lines.push(`- **Why:** ${why}`);
  const shown = rule.files.slice(0, FILES_PER_RULE).map(code).join(", ");
  if (rule.files.length)
    lines.push(`- **Files (${rule.files.length}):** ${shown}${rule.files.length > FILES_PER_RULE ? `, and ${rule.files.length - FILES_PER_RULE} more` : ""}`);
  if (rule.gate) {
    const g = rule.gate;
    lines.push(
      `- **Approvals:** ${g.approved_by.length} of ${g.approvers.count} from ${who(g.approvers)}${g.approved_by.length ? `; approved by ${g.approved_by.map((l) => `@${l}`).join(", ")}` : ""}`,
    );
    if (g.changes_requested_by.length)
      lines.push(
        `- **Changes requested by:** ${g.changes_requested_by.map((l) => `@${l}`).join(", ")} (holds the gate until they approve or the review is dismissed)`,
      );
    for (const i of g.ignored) lines.push(`- Not counted: @${i.login}: ${ignoredWhy(i)}`);
  }
  const link = policyLink(rule.policy_ref, htmlBase);
  if (link) lines.push(`- **Policy:** [${rule.policy_ref.repo}:${rule.policy_ref.path} line ${rule.policy_ref.line}](${link})`);
  else if (rule.policy_ref.source === "builtin") lines.push("- **Policy:** built into Governor");
  if (rule.action !== "allow" && escalationText(rule)) lines.push(`- **Escalation:** ${escalationText(rule)}`);
  return lines.join("\n");
}

/** The summary, truncated with a note rather than rejected when a huge PR would exceed GitHub's limit. */
export function checkSummary(decision: Decision, opts: { htmlBase: string; auditId?: number; auditHash?: string }): string {
  const parts: string[] = [`${ICON[decision.outcome]} ${decisionSummary(decision)}`];
  if (decision.override)
    parts.push(
      `**Overridden** by ${decision.override.by.map((b) => `@${b}`).join(", ")} at ${decision.override.at}. **Reason:** ${decision.override.reason}\n\nLifted: ${decision.override.rules.map(code).join(", ")}. The override binds this head commit only; a new push is evaluated normally.`,
    );
  if (decision.observed)
    parts.push(
      `**Observe mode:** enforcing ${decision.observed.rules.map(code).join(", ")} would make this PR ${decision.observed.outcome.replace("_", " ")}. They are recorded, and do not block until they are set to \`mode: enforce\`.`,
    );
  if (decision.agent) {
    parts.push(`**Agent:** ${decision.agent.name}, identified by ${decision.agent.signals.map((s) => `${s.kind} ${code(s.value)}`).join(", ")}`);
  }
  if (decision.errors.length) {
    parts.push(
      [
        "**Problems:**",
        ...decision.errors.map(
          (e) => `- ${e.file ? code(`${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ""}`) + ": " : ""}${e.field ? `${code(e.field)}: ` : ""}${e.message}`,
        ),
      ].join("\n"),
    );
  }
  const order = { deny: 0, require_approval: 1, allow: 2 } as const;
  const rules = [...decision.rules].sort((a, b) => order[a.action] - order[b.action] || Number(a.gate?.met ?? false) - Number(b.gate?.met ?? false));
  if (rules.length) parts.push(`### Rules applied\n${rules.map((r) => ruleSection(r, decision, opts.htmlBase)).join("\n\n")}`);
  if (decision.limits.length) {
    // Decisions before evaluator 1.3.0 carry no scope, agent, used or share: their cells stay empty.
    const cell = (v: string | number | null | undefined) => (v === undefined || v === null ? "" : String(v));
    parts.push(
      `### Budget\n| limit | scope | agent | used | this PR | allowed |\n|---|---|---|---|---|---|\n${decision.limits.map((l) => `| ${code(l.id)} | ${cell(l.scope)} | ${cell(l.agent)} | ${cell(l.used)} | ${cell(l.share ?? l.actual)} | ${l.limit}${l.exceeded ? " (exceeded)" : ""} |`).join("\n")}`,
    );
  }
  if (decision.unmatched_files.length) {
    parts.push(
      `**Files no rule covers (the default applies):** ${decision.unmatched_files.slice(0, FILES_PER_RULE).map(code).join(", ")}${decision.unmatched_files.length > FILES_PER_RULE ? `, and ${decision.unmatched_files.length - FILES_PER_RULE} more` : ""}`,
    );
  }
  // The row's hash on GitHub is a witness outside the database: `audit verify --expect` proves the trail still holds it.
  const anchor = opts.auditId !== undefined && opts.auditHash ? `${opts.auditId}:${opts.auditHash.slice(0, 16)}` : undefined;
  parts.push(
    `<sub>${decision.schema} · evaluator ${decision.evaluator_version}${opts.auditId !== undefined ? ` · audit row ${opts.auditId} (\`governor audit show ${opts.auditId}\`)` : ""}${anchor ? ` · sha256 ${anchor.split(":")[1]} (\`governor audit verify --expect ${anchor}\`)` : ""}</sub>`,
  );
  return truncate(parts.join("\n\n"));
}

// Room kept for the truncation note, so the count in it can be exact: the note is shorter than this whatever the count.
const NOTE_ROOM = 200;

export function truncate(text: string, limit = CHECK_TEXT_LIMIT): string {
  if (text.length <= limit) return text;
  const kept = limit - NOTE_ROOM;
  return `${text.slice(0, kept)}\n\n… truncated: ${text.length - kept} more characters are in the audit trail (\`governor audit show\`).`;
}

export const CONCLUSION: Record<Decision["outcome"], "success" | "action_required" | "failure" | "neutral"> = {
  allowed: "success",
  needs_approval: "action_required",
  denied: "failure",
  error: "failure",
  not_governed: "neutral",
};

/** The check's conclusion. Allowed only because observe-mode parts do not block yet: neutral, so it stands out without blocking. */
export function conclusionOf(decision: Decision): "success" | "action_required" | "failure" | "neutral" {
  if (decision.outcome === "allowed" && decision.observed && !decision.override) return "neutral";
  return CONCLUSION[decision.outcome];
}
