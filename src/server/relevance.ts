// Which deliveries lead to an evaluation, and of which PR. Decided at receipt so the inbox can coalesce safely:
// only deliveries that evaluate may supersede one another.
import { GOVERNED_EVENTS } from "../github/events.js";
import { policyPushOf } from "../github/policy-push.js";

export interface SelfIdentity {
  appId: number;
  /** The app's slug; its own actions arrive with sender `<slug>[bot]`. */
  slug?: string;
}

export interface Relevance {
  evaluate: boolean;
  /** Why a delivery is not evaluated, for the inbox record. */
  why?: string;
  installationId: number | null;
  /** `owner/name#number`, or `owner/name@sha` when a re-run names no PR; null when the payload names neither. */
  prKey: string | null;
  headSha: string | null;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

const PULL_REQUEST_ACTIONS = new Set<string>(GOVERNED_EVENTS.pull_request);
const REVIEW_ACTIONS = new Set<string>(GOVERNED_EVENTS.pull_request_review);

export function relevanceOf(event: string, payload: unknown, self: SelfIdentity): Relevance {
  const body = obj(payload) ?? {};
  const repo = str(obj(body["repository"])?.["full_name"]);
  const installationId = num(obj(body["installation"])?.["id"]) ?? null;
  const action = str(body["action"]) ?? "";
  const skip = (why: string): Relevance => ({ evaluate: false, why, installationId, prKey: null, headSha: null });

  // An app acts on a repository only through an installation; without one no check could ever be reported.
  if (installationId === null) return skip("the payload names no installation, so Governor cannot act on it");

  if (event === "pull_request" || event === "pull_request_review") {
    const actions = event === "pull_request" ? PULL_REQUEST_ACTIONS : REVIEW_ACTIONS;
    if (!actions.has(action)) return skip(`${event}.${action} does not change the decision`);
    if (event === "pull_request" && action === "edited" && !obj(obj(body["changes"])?.["base"])) return skip("edited without a base branch change");
    if (event === "pull_request" && (action === "labeled" || action === "unlabeled")) {
      const sender = obj(body["sender"]);
      if (self.slug && str(sender?.["login"]) === `${self.slug}[bot]`) return skip("a label change made by Governor itself");
    }
    const pr = obj(body["pull_request"]);
    const number = num(pr?.["number"]);
    return {
      evaluate: true,
      installationId,
      prKey: repo && number !== undefined ? `${repo}#${number}` : null,
      headSha: str(obj(pr?.["head"])?.["sha"]) ?? null,
    };
  }
  if (event === "check_run" || event === "check_suite") {
    if (!(GOVERNED_EVENTS[event] as readonly string[]).includes(action)) return skip(`${event}.${action} is not a re-run request or a button`);
    const target = obj(body[event]);
    const appId = num(obj(target?.["app"])?.["id"]);
    if (appId !== self.appId) return skip(`a re-run of another app's ${event === "check_run" ? "check" : "suite"}`);
    // A button press is a command: never superseded by (nor superseding) the PR's evaluations.
    if (action === "requested_action") return { evaluate: true, installationId, prKey: null, headSha: null };
    const prs = Array.isArray(target?.["pull_requests"]) ? (target["pull_requests"] as unknown[]) : [];
    const number = num(obj(prs[0])?.["number"]);
    const sha = str(target?.["head_sha"]) ?? null;
    return {
      evaluate: true,
      installationId,
      prKey: repo ? (number !== undefined ? `${repo}#${number}` : sha ? `${repo}@${sha}` : null) : null,
      headSha: sha,
    };
  }
  if (event === "merge_group") {
    if (!(GOVERNED_EVENTS.merge_group as readonly string[]).includes(action)) return skip(`merge_group.${action} does not ask for checks`);
    const sha = str(obj(body["merge_group"])?.["head_sha"]) ?? null;
    return { evaluate: true, installationId, prKey: repo && sha ? `${repo}@${sha}` : null, headSha: sha };
  }
  if (event === "issue_comment") {
    if (!(GOVERNED_EVENTS.issue_comment as readonly string[]).includes(action)) return skip(`issue_comment.${action} is not a new command`);
    const issue = obj(body["issue"]);
    const text = str(obj(body["comment"])?.["body"]) ?? "";
    if (!obj(issue?.["pull_request"])) return skip("a comment on an issue, not on a pull request");
    if (!/^\s*\/governance\b/im.test(text)) return skip("a comment that is not a /governance command");
    const number = num(issue?.["number"]);
    // No PR key: a command is never superseded by (nor supersedes) the PR's other deliveries.
    if (!repo || number === undefined) return skip("a /governance command that names no PR");
    return { evaluate: true, installationId, prKey: null, headSha: null };
  }
  if (event === "workflow_job") {
    if (!(GOVERNED_EVENTS.workflow_job as readonly string[]).includes(action)) return skip(`workflow_job.${action}: only started and completed jobs matter`);
    // No PR key: a job's timing is recorded, never coalesced with (or superseding) a PR's deliveries.
    return { evaluate: true, installationId, prKey: null, headSha: null };
  }
  if (event === "push") {
    const push = policyPushOf(body);
    if (!push) return skip("a push that changes no policy file");
    // One key per pushed branch: a burst of policy pushes waiting in the inbox coalesces into the newest.
    return { evaluate: true, installationId, prKey: `${push.repo}@push:${push.branch}`, headSha: null };
  }
  return skip(`event ${event} is not one Governor evaluates`);
}
