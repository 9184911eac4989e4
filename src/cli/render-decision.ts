// A decision as readable terminal text (the `check` and `audit show` report).
import type { Decision } from "../policy/decision.js";
import { decisionSummary, decisionTitle, escalationText, ignoredWhy, ruleReason } from "../report/phrases.js";

const MAX_FILES_SHOWN = 20;

export function renderDecision(decision: Decision): string {
  const lines: string[] = [];
  lines.push(decisionTitle(decision), "", decisionSummary(decision), "");
  if (decision.agent) {
    lines.push(`Agent: ${decision.agent.name} (${decision.agent.signals.map((s) => `${s.kind}: ${s.value}`).join(", ")})`);
  }
  for (const error of decision.errors) {
    lines.push(
      `  error: ${error.file ? `${error.file}${error.line ? `:${error.line}:${error.column ?? 1}` : ""}: ` : ""}${error.field ? `${error.field}: ` : ""}${error.message}`,
    );
  }
  for (const rule of decision.rules) {
    const status = rule.gate ? (rule.gate.met ? "met" : "unmet") : rule.action;
    lines.push(`- ${rule.id} [${rule.action}${rule.gate ? `, ${status}` : ""}]${refText(rule.policy_ref)}`);
    const why = ruleReason(rule, decision);
    if (why) lines.push(`    why: ${why}`);
    const shown = rule.files.slice(0, MAX_FILES_SHOWN);
    if (shown.length) lines.push(`    files: ${shown.join(", ")}${rule.files.length > shown.length ? ` (+${rule.files.length - shown.length} more)` : ""}`);
    if (rule.gate) {
      const who = [...rule.gate.approvers.teams.map((t) => `@${t}`), ...rule.gate.approvers.users.map((u) => `@${u}`)].join(", ") || "(none configured)";
      lines.push(`    approvers: ${rule.gate.approved_by.length} of ${rule.gate.approvers.count} from ${who}`);
      if (rule.gate.approved_by.length) lines.push(`    approved by: ${rule.gate.approved_by.join(", ")}`);
      if (rule.gate.changes_requested_by.length) lines.push(`    changes requested by: ${rule.gate.changes_requested_by.join(", ")}`);
      for (const i of rule.gate.ignored) lines.push(`    ignored approval: ${i.login} (${ignoredWhy(i)})`);
    }
    if (rule.action !== "allow" && escalationText(rule)) lines.push(`    escalate: ${escalationText(rule)}`);
  }
  for (const limit of decision.limits) {
    const whose = [limit.scope, limit.agent].filter((v) => v !== undefined && v !== null).join(", ");
    lines.push(`  ${limit.id}${whose ? ` (${whose})` : ""}: ${limit.actual} of ${limit.limit}${limit.exceeded ? " (exceeded)" : ""}`);
  }
  return lines.join("\n");
}

function refText(ref: Decision["rules"][number]["policy_ref"]): string {
  if (ref.source === "builtin" || !ref.path) return " (built in)";
  return ` (${ref.repo ? `${ref.repo}:` : ""}${ref.path}:${ref.line})`;
}

/** `check`'s report: the decision, then where the app's answer may differ from it. */
export function renderCheck(decision: Decision, caveats: ReadonlyArray<{ message: string }>): string {
  const text = renderDecision(decision);
  if (caveats.length === 0) return text;
  return `${text}\n\nThe app's answer may differ:\n${caveats.map((c) => `- ${c.message}`).join("\n")}`;
}
