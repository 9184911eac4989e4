// `--format github`: GitHub Actions workflow commands (`::error file=...,line=...,col=...::message`), which GitHub
// shows as annotations on the files of the PR and the run.
import type { Decision } from "../policy/decision.js";
import { Option } from "commander";
import type { LoadResult, PolicyProblem } from "../policy/load.js";
import { type CliContext, EXIT } from "./context.js";
import { escalationText, ruleReason } from "../report/phrases.js";

// Escaping as GitHub's runner unescapes it: %, CR and LF in the message; also : and , in property values.
const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

export type AnnotationLevel = "error" | "warning" | "notice";

export function annotation(level: AnnotationLevel, message: string, props: { file?: string; line?: number; col?: number; title?: string } = {}): string {
  const parts = Object.entries(props)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  return `::${level}${parts.length ? ` ${parts.join(",")}` : ""}::${escapeData(message)}`;
}

/** One annotation per policy problem, at its file, line and column. */
export function problemAnnotations(problems: readonly PolicyProblem[]): string[] {
  return problems.map((p) =>
    annotation(p.severity === "error" ? "error" : "warning", `${p.field ? `${p.field}: ` : ""}${p.message}`, {
      file: p.file,
      line: p.line,
      col: p.column,
      title: "governance policy",
    }),
  );
}

/** For a decision: an error on each denied file, a warning on each file that needs an approval, errors for an invalid policy. */
export function decisionAnnotations(decision: Decision): string[] {
  const out: string[] = [];
  for (const e of decision.errors)
    out.push(
      annotation("error", `${e.field ? `${e.field}: ` : ""}${e.message}`, {
        ...(e.file ? { file: e.file } : {}),
        ...(e.line ? { line: e.line } : {}),
        ...(e.column ? { col: e.column } : {}),
        title: "governance",
      }),
    );
  for (const rule of decision.rules) {
    if (rule.action === "allow" || rule.gate?.met) continue;
    const level = rule.action === "deny" ? "error" : "warning";
    const message = `${rule.id}: ${ruleReason(rule, decision) ?? (rule.action === "deny" ? "denied by the policy" : "needs an approval")}${escalationText(rule) ? ` Escalation: ${escalationText(rule)}` : ""}`;
    if (rule.files.length === 0) out.push(annotation(level, message, { title: `governance: ${rule.id}` }));
    for (const file of rule.files) out.push(annotation(level, message, { file, title: `governance: ${rule.id}` }));
  }
  return out;
}

/** `validate --format github`: one workflow annotation per problem; exit 2 if any error, as with the other formats. */
export function validateFormatOption(): Option {
  return new Option("--format <format>", "output: text, or github (workflow annotations: ::error file=...,line=...,col=...::)").choices(["text", "github"]);
}

export function reportValidateGithub(all: Array<{ file: string; result: LoadResult }>, ctx: CliContext): void {
  let failed = false;
  for (const { file, result } of all) {
    const problems = result.ok ? result.loaded.warnings : [...result.errors, ...result.warnings];
    for (const line of problemAnnotations(problems)) ctx.out(line);
    if (result.ok) ctx.out(`${file}: valid`);
    else failed = true;
  }
  ctx.exit(failed ? EXIT.usage : EXIT.ok);
}
