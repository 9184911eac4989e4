// One evaluation of one PR: read the inputs from GitHub, decide, record the decision, then report it.
import { isAutomatedAccount, PRESETS } from "../policy/agents.js";
import type { ChangeInput } from "../policy/change.js";
import { compiledPolicies, decide, errorDecision, PolicyCache } from "../policy/decide.js";
import type { Coded, Decision } from "../policy/decision.js";
import { EvaluationInputSchema, type EvaluationInput } from "../policy/input.js";
import { nextWindowChange } from "../policy/windows.js";
import { computeMinutes, type ComputeMinutes } from "./compute.js";
import { changeFromPayload, IncompleteCommitsError } from "./change-builder.js";
import { gatherChange } from "../change/gather.js";
import { gitHubSource } from "./change-source.js";
import { readSnapshot, type Snapshot, SnapshotError } from "./snapshot.js";
import type { PullRequest, Repository } from "./payload.js";
import { PolicyReadError, PolicyTextCache, readPolicies } from "./policy-source.js";
import type { AppDeps, CheckRunLedger, Octokit } from "./ports.js";
import {
  CHECK_NAME,
  checkRunKey,
  closeAbandoned,
  completeCheck,
  createCheck,
  createCompletedCheck,
  MemoryCheckRunLedger,
  reviewersToRequest,
  syncLabels,
  type Target,
} from "./report.js";
import { checkSummary, conclusionOf } from "./summary.js";
import type { Override } from "../policy/change.js";
import { type CheckAction, checkActions, OVERRIDDEN_LABEL, syncOverrideLabel } from "./override-report.js";
import { decisionTitle } from "../report/phrases.js";

const DEFAULT_LABELS = { allowed: "governance: allowed", needs_approval: "governance: needs approval", denied: "governance: denied" };

/** State an app instance keeps between evaluations: caches that spare GitHub calls, never decisions. */
export class GovernorState {
  readonly policyTexts = new PolicyTextCache();
  readonly compiled = new PolicyCache(512);
  /** Runs being evaluated in this process: never closed as abandoned, never taken over by another evaluation. */
  private readonly owned = new Set<number>();
  /** Creates in flight here, by commit: while one is, a not-yet-recorded start is ours, not a crashed process's. */
  private readonly starting = new Map<string, number>();
  /** Per commit: the tail of the evaluations waiting to report on it (see `exclusive`). */
  private readonly locks = new Map<string, Promise<void>>();
  /** Per commit: the newest run of ours completed in this process (GitHub shows the newest run of a name). */
  private readonly newestCompleted = new Map<string, { id: number; shows: string }>();
  constructor(
    readonly checkRuns: CheckRunLedger = new MemoryCheckRunLedger(),
    private readonly sharedLock?: AppDeps["commitLock"],
  ) {}

  /**
   * Runs `fn` alone among this process's reports on one commit. Several PRs can share a head commit and so its check;
   * reading their latest decisions and completing the check happen one evaluation at a time, so the last report on a
   * commit has seen every decision recorded before it.
   */
  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.locks.set(key, tail);
    await before;
    try {
      // Several replicas: the commit's lock is also taken in the database, so other processes' reports wait too.
      return await (this.sharedLock ? this.sharedLock(key, fn) : fn());
    } finally {
      release();
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /**
   * Completes this evaluation's run with what the commit must show. GitHub shows the newest run, so when a newer run was
   * already completed (an evaluation that started later but reported first, knowing less), the decision is put on a
   * fresh run as well: the newest completed run is always the last report. Call inside `exclusive`. Returns the run shown.
   */
  async report(
    octokit: Octokit,
    target: Target,
    id: number,
    appId: number,
    decision: Decision,
    summary: string,
    detailsUrl: string | undefined,
    actions?: CheckAction[],
  ): Promise<number> {
    const key = checkRunKey(target);
    await this.completeCheck(octokit, target, id, decision, summary, detailsUrl, actions);
    let shown = id;
    const shows = `${conclusionOf(decision)}\u0000${decisionTitle(decision)}`;
    // Other replicas complete runs too: with a shared lock the newest completed run is asked of GitHub.
    const newest = this.sharedLock ? await newestCompletedOnGitHub(octokit, target, appId, id) : this.newestCompleted.get(key);
    if (newest && newest.id > id) {
      // The newer run already shows this conclusion and title: GitHub's answer for the commit is right as it is.
      if (newest.shows === shows) return newest.id;
      shown = await this.startCheck(octokit, target, appId, detailsUrl);
      await this.completeCheck(octokit, target, shown, decision, summary, detailsUrl, actions);
    }
    this.newestCompleted.delete(key);
    this.newestCompleted.set(key, { id: shown, shows });
    if (this.newestCompleted.size > 10_000) this.newestCompleted.delete(this.newestCompleted.keys().next().value as string);
    return shown;
  }

  /**
   * Reports a decision that was ready before any run was started: one create, completed. Created under the commit's
   * lock, it is the newest run, so nothing newer can hide it. Runs an earlier evaluation abandoned are closed. Call
   * inside `exclusive`. Returns the run's id.
   */
  async reportNew(
    octokit: Octokit,
    target: Target,
    appId: number,
    decision: Decision,
    summary: string,
    detailsUrl: string | undefined,
    actions?: CheckAction[],
  ): Promise<number> {
    const key = checkRunKey(target);
    const before = await this.checkRuns.open(key);
    const startingHere = (this.starting.get(key) ?? 0) > 0;
    const id = await createCompletedCheck(octokit, target, decision, summary, detailsUrl, actions);
    try {
      await closeAbandoned(octokit, target, this.checkRuns, appId, { ...before, unknown: before.unknown && !startingHere }, this.owned);
    } catch {
      // Tidying only, as in startCheck.
    }
    this.newestCompleted.delete(key);
    this.newestCompleted.set(key, { id, shows: `${conclusionOf(decision)}\u0000${decisionTitle(decision)}` });
    if (this.newestCompleted.size > 10_000) this.newestCompleted.delete(this.newestCompleted.keys().next().value as string);
    return id;
  }

  /** A new in-progress run for this evaluation; runs an earlier evaluation abandoned on this commit are closed. */
  async startCheck(octokit: Octokit, target: Target, appId: number, detailsUrl?: string): Promise<number> {
    const key = checkRunKey(target);
    const before = await this.checkRuns.open(key);
    const startingHere = (this.starting.get(key) ?? 0) > 0;
    this.starting.set(key, (this.starting.get(key) ?? 0) + 1);
    let id: number;
    try {
      id = await createCheck(octokit, target, this.checkRuns, appId, this.owned, detailsUrl);
    } finally {
      const n = (this.starting.get(key) ?? 1) - 1;
      if (n <= 0) this.starting.delete(key);
      else this.starting.set(key, n);
    }
    this.owned.add(id);
    try {
      await closeAbandoned(octokit, target, this.checkRuns, appId, { ...before, unknown: before.unknown && !startingHere }, this.owned);
    } catch {
      // Tidying only: the new run carries the decision, and the next evaluation of this commit tries again.
    }
    return id;
  }

  /** Completes this evaluation's run; a run that could not be completed is closed by the next evaluation. */
  async completeCheck(
    octokit: Octokit,
    target: Target,
    id: number,
    decision: Decision,
    summary: string,
    detailsUrl: string | undefined,
    actions?: CheckAction[],
  ): Promise<void> {
    try {
      await completeCheck(octokit, target, id, decision, summary, detailsUrl, actions);
      await this.checkRuns.closed(checkRunKey(target), id);
    } finally {
      this.owned.delete(id);
    }
  }
}

/** Our newest completed run of the check on this commit newer than `than`, and what it shows (several replicas). */
async function newestCompletedOnGitHub(octokit: Octokit, t: Target, appId: number, than: number): Promise<{ id: number; shows: string } | undefined> {
  const { data } = await octokit.rest.checks.listForRef({ owner: t.owner, repo: t.repo, ref: t.headSha, check_name: CHECK_NAME, filter: "all", per_page: 100 });
  const newer = data.check_runs.filter((r) => r.app?.id === appId && r.status === "completed" && r.id > than).sort((a, b) => b.id - a.id)[0];
  return newer ? { id: newer.id, shows: `${newer.conclusion ?? ""}\u0000${newer.output?.title ?? ""}` } : undefined;
}

export interface GovernRequest {
  octokit: Octokit;
  repository: Repository;
  pr: PullRequest;
  installationId: number | null;
  deliveryId: string | null;
  /** A break-glass override being given now (see override.ts); recorded ones are read from the audit trail. */
  overrides?: Override[];
  log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void; error: (o: object, m: string) => void };
}

export interface GovernResult {
  decision: Decision;
  auditId: number;
  checkRunId: number | null;
}

export function describeGitHubError(error: unknown): string {
  const e = error as { status?: number; request?: { method?: string; url?: string }; message?: string };
  const where = e.request?.method && e.request.url ? `${e.request.method} ${e.request.url.replace(/^https?:\/\/[^/]+(\/api\/v3)?/, "")}` : "a GitHub API call";
  return e.status ? `GitHub answered ${e.status} to ${where}` : `${where} failed: ${e.message ?? String(error)}`;
}

type Gathered =
  | { input: EvaluationInput; decision: Decision; labels: typeof DEFAULT_LABELS; reviewedBy: string[]; notes: string[] }
  | { input: null; failure: { cause: Coded; message: string }; notes: string[] };

/**
 * Reads everything the evaluator needs: the PR's snapshot is already read (one GraphQL query); what it could not answer
 * (policy texts not cached, renamed files, lists past one page, team memberships) is read here, each only when the
 * decision depends on it. `wait` is called before any read that makes the evaluation wait on GitHub: it turns the
 * commit's check in-progress first. Throws on GitHub errors (after Octokit's own retries).
 */
async function gatherInput(req: GovernRequest, snap: Snapshot, state: GovernorState, deps: AppDeps, wait: () => Promise<void>): Promise<Gathered> {
  const { octokit, repository } = req;
  const pr = snap.pr;
  const owner = repository.owner.login;
  const repo = repository.name;
  const now = deps.now();
  const policies = await readPolicies(octokit, { owner, repo, baseSha: snap.baseHead }, state.policyTexts, () => now.getTime(), wait);
  const notes = policies.orgUnseen ? [policies.orgUnseen] : [];
  if (policies.conflict) return { input: null, failure: { cause: { code: "policy_conflict", params: {} }, message: policies.conflict }, notes };
  if (policies.orgUnseen && deps.requireOrgPolicy) {
    return {
      input: null,
      failure: {
        cause: { code: "org_policy_required", params: {} },
        message: `${policies.orgUnseen} This Governor is set to require the org policy (GOVERNOR_REQUIRE_ORG_POLICY), so it fails closed`,
      },
      notes: [],
    };
  }

  const base: ChangeInput = changeFromPayload(repository, pr);
  const sources = { ...(policies.org ? { org: policies.org } : {}), ...(policies.repo ? { repo: policies.repo } : {}) };
  const context: {
    now: string;
    usage: {
      prs_today: number;
      prs_by_agent: Record<string, number>;
      prs_by_agent_week?: Record<string, number>;
      org_prs_by_agent?: Record<string, number>;
      org_prs_by_agent_week?: Record<string, number>;
      compute_minutes?: ComputeMinutes;
    };
  } = { now: now.toISOString(), usage: { prs_today: 1, prs_by_agent: {}, prs_by_agent_week: {}, org_prs_by_agent: {}, org_prs_by_agent_week: {} } };
  if (!sources.org && !sources.repo) {
    const input = EvaluationInputSchema.parse({ policies: sources, change: base, context });
    return { input, decision: decide(input, state.compiled), labels: DEFAULT_LABELS, reviewedBy: [], notes };
  }

  // Once governed as an agent's, a PR stays governed as that agent's, whatever its label, branch or later commits say.
  const known = await deps.audit.knownAgents(repository.full_name, pr.number);
  // Overrides given for this head commit stay inputs of its every evaluation; a new head has none.
  const overrides = [...((await deps.audit.overridesFor?.(repository.full_name, pr.number, pr.head.sha)) ?? []), ...(req.overrides ?? [])];
  // Every part is present, empty until the evaluator asks for it: a complete input is checked without zod's copy.
  const change: ChangeInput = { ...base, commit_authors: [], contributors: [], reviews: [], team_members: {}, known_agents: known, overrides };
  // What the evaluator needs, read as it asks (src/policy/needs.ts): commits always (every agent whose signals match
  // binds the PR; contributors cannot approve); files once governed; the budget places of the binding agents; reviews
  // only for an approval gate; team membership only of the reviewers who count, in the teams a gate names.
  const source = gitHubSource(octokit, { owner, repo }, pr, snap, wait);
  const { input, decision } = await gatherChange(
    { policies: sources, change, context },
    source,
    async (need) => {
      // This PR's place among each matching agent's PRs, reserved atomically before the decision, so a burst of PRs
      // opened at once cannot all pass a limit; fixed at the first evaluation. Repo and org, day and week: one reservation.
      const places = await deps.audit.reserveBudgetPlaces({
        repo: repository.full_name,
        org: owner,
        agents: need.agents,
        pr: pr.number,
        openedAt: pr.created_at ?? now.toISOString(),
      });
      const compiled = compiledPolicies(sources, state.compiled);
      return {
        prs_by_agent: places.repo.day,
        prs_by_agent_week: places.repo.week,
        ...(places.org ? { org_prs_by_agent: places.org.day, org_prs_by_agent_week: places.org.week } : {}),
        prs_today: Math.max(1, ...Object.values(places.repo.day)),
        // Compute budgets: the minutes of the agents' workflow jobs, read only when the policy sets one.
        ...(need.compute && compiled.ok
          ? {
              compute_minutes: await computeMinutes(deps.audit, {
                repo: repository.full_name,
                owner,
                headBranch: pr.head.ref,
                now,
                agents: compiled.policy.agents,
              }),
            }
          : {}),
      };
    },
    state.compiled,
  );
  const labels = labelsOf(input, state) ?? DEFAULT_LABELS;
  return { input, decision, labels, reviewedBy: [...new Set(input.change.reviews.map((r) => r.user.login))], notes };
}

/** The outcome labels the policy names (the repo's, else the org's). */
function labelsOf(input: EvaluationInput, state: GovernorState): typeof DEFAULT_LABELS | null {
  const compiled = compiledPolicies(input.policies, state.compiled);
  return compiled.ok ? compiled.policy.labels : null;
}

/**
 * Evaluates a PR as it is now on GitHub (read afresh: a payload is a snapshot, and a late event carries an old head).
 * Returns null when the PR is no longer open: there is nothing left to govern.
 */
export async function governPullRequest(req: GovernRequest, state: GovernorState, deps: AppDeps): Promise<GovernResult | null> {
  const { octokit, repository } = req;
  const owner = repository.owner.login;
  const recordedAt = deps.now().toISOString();
  let snap: Snapshot | null = null;
  let snapshotFailure: string | undefined;
  try {
    snap = await readSnapshot(octokit, { owner, repo: repository.name }, req.pr);
  } catch (error) {
    // Nothing of the PR could be read: the payload's head is the one judged, and the decision fails closed.
    snapshotFailure = error instanceof SnapshotError ? error.message : describeGitHubError(error);
    req.log.error({ err: error, pr: req.pr.number }, "could not read the PR");
  }
  if (snap && snap.pr.state !== "open") return null;
  const pr = snap?.pr ?? req.pr;
  const target = { owner, repo: repository.name, headSha: pr.head.sha };
  const htmlBase = new URL(repository.html_url).origin;
  const detailsUrl = pr.html_url ?? `${repository.html_url}/pull/${pr.number}`;

  let checkRunId: number | null = null;
  // A decision that needs GitHub again (a policy not cached, REST listings) turns the commit's check pending first, so
  // a PR that appears on a head with a passing check blocks it while it is read; one ready at once is created completed.
  const wait = async () => {
    checkRunId ??= await state.startCheck(octokit, target, deps.appId, detailsUrl);
  };
  let input: EvaluationInput | null = null;
  let decision: Decision;
  let labels = DEFAULT_LABELS;
  let reviewedBy: string[] = [];
  let notes: string[] = [];
  let missingReason: string | undefined;
  try {
    if (!snap) throw new SnapshotError(snapshotFailure ?? "could not read the PR");
    const gathered = await gatherInput({ ...req, pr }, snap, state, deps, wait);
    notes = gathered.notes;
    if (gathered.input === null) {
      decision = errorDecision(
        gathered.failure.cause,
        [{ message: gathered.failure.message, ...(gathered.failure.cause.code === "policy_conflict" ? { file: ".governance.yml" } : {}) }],
        pr.head.sha,
      );
      missingReason = gathered.failure.message;
    } else {
      input = gathered.input;
      labels = gathered.labels;
      reviewedBy = gathered.reviewedBy;
      // Evaluated already: the gathering stopped when this decision needed nothing more.
      decision = gathered.decision;
    }
  } catch (error) {
    const why =
      error instanceof PolicyReadError || error instanceof IncompleteCommitsError || error instanceof SnapshotError
        ? error.message
        : describeGitHubError(error);
    if (snap) req.log.error({ err: error, pr: pr.number }, "could not gather the inputs of a decision");
    decision = errorDecision(
      { code: "github_failure", params: { detail: why } },
      [{ message: `${why}. Governor fails closed; use Re-run on this check to try again.` }],
      pr.head.sha,
    );
    missingReason = why;
    input = null;
  }

  // The decision is recorded before anything is shown on GitHub, so no check exists without its audit row.
  const agentName = decision.agent?.name ?? null;
  const { id: auditId, hash: auditHash } = await deps.audit.record({
    recorded_at: input?.context.now ?? recordedAt,
    delivery_id: req.deliveryId,
    installation_id: req.installationId,
    repo: repository.full_name,
    pr: pr.number,
    head_sha: pr.head.sha,
    base_sha: pr.base.sha,
    agent: agentName,
    outcome: decision.outcome,
    decision,
    input,
    ...(missingReason ? { input_missing_reason: missingReason } : {}),
  });

  await scheduleWindowChange(req, state, deps, input, decision);

  // Labels and reviewers first: a completed check then means everything about this decision is on the PR. They do not
  // depend on each other, so they go to GitHub at once (one round trip, not up to three); each failure is its own and
  // only logged, as the check below is what branch protection reads, and it must still be reported.
  const onPr: Array<Promise<void>> = [];
  if (decision.outcome !== "not_governed" || pr.labels.some((l) => Object.values(labels).includes(l.name))) {
    onPr.push(
      syncLabels(
        octokit,
        { ...target, number: pr.number },
        pr.labels.map((l) => l.name),
        labels,
        decision.outcome,
      ).then(
        () => undefined,
        (error: unknown) => req.log.warn({ err: error }, "could not update the outcome label"),
      ),
    );
  }
  if (decision.override || pr.labels.some((l) => l.name === OVERRIDDEN_LABEL)) {
    onPr.push(
      syncOverrideLabel(
        octokit,
        { ...target, number: pr.number },
        pr.labels.map((l) => l.name),
        decision,
      ).then(
        () => undefined,
        (error: unknown) => req.log.warn({ err: error }, "could not update the override label"),
      ),
    );
  }
  const compiledNow = input && (input.policies.org || input.policies.repo) ? compiledPolicies(input.policies, state.compiled) : null;
  const actions = checkActions(decision, compiledNow?.ok === true && Object.keys(compiledNow.policy.overrides).length > 0);
  if (decision.outcome === "needs_approval" && !pr.draft) {
    const request = reviewersToRequest(
      decision,
      {
        author: pr.user.login,
        org: repository.owner.login,
        requestedUsers: pr.requested_reviewers.map((r) => r.login),
        requestedTeams: pr.requested_teams.map((t) => t.slug),
        reviewed: reviewedBy,
      },
      (login) => isAutomatedAccount(login, "User", Object.values(PRESETS)),
    );
    if (request.reviewers.length + request.team_reviewers.length > 0) {
      onPr.push(
        octokit.rest.pulls.requestReviewers({ owner: target.owner, repo: target.repo, pull_number: pr.number, ...request }).then(
          () => undefined,
          // A reviewer GitHub refuses (not a collaborator, team without access) must not undo the decision.
          (error: unknown) => req.log.warn({ err: error, request }, "GitHub refused a reviewer request"),
        ),
      );
    }
  }
  // Each of these has caught its own error: this waits for all of them, and never throws.
  await Promise.all(onPr);
  const shownRun = await state.exclusive(checkRunKey(target), async () => {
    // Read under the commit's lock, after this decision is recorded: the last report on a commit has seen them all.
    const shown = await strictestForCommit(req, deps, decision);
    const anchor = { htmlBase, auditId, auditHash };
    const summary = withNotes(
      notes,
      shown.fromPr === undefined
        ? checkSummary(decision, anchor)
        : `⚠️ This commit is also the head of #${shown.fromPr}, whose decision is stricter. A check belongs to a commit, not to a PR, so it shows that decision (audit row ${shown.row}); this PR's own is "${decisionTitle(decision)}" (audit row ${auditId}).\n\n${checkSummary(shown.decision, anchor)}`,
    );
    const shownActions = shown.fromPr === undefined ? actions : undefined;
    if (checkRunId === null) return state.reportNew(octokit, target, deps.appId, shown.decision, summary, detailsUrl, shownActions);
    return state.report(octokit, target, checkRunId, deps.appId, shown.decision, summary, detailsUrl, shownActions);
  });
  return { decision, auditId, checkRunId: shownRun };
}

/**
 * A rule's time window that opens or closes later changes the decision without any event: the PR is put on the durable
 * schedule to be evaluated again at that instant. A PR no rule window concerns any more is taken off it.
 */
async function scheduleWindowChange(req: GovernRequest, state: GovernorState, deps: AppDeps, input: EvaluationInput | null, decision: Decision): Promise<void> {
  if (!deps.audit.scheduleReevaluation) return;
  const governed = input !== null && decision.outcome !== "not_governed" && decision.outcome !== "error";
  const compiled = governed ? compiledPolicies(input.policies, state.compiled) : null;
  const next = compiled?.ok ? nextWindowChange(compiled.policy, new Date(input!.context.now)) : null;
  try {
    await deps.audit.scheduleReevaluation({
      repo: req.repository.full_name,
      pr: req.pr.number,
      installationId: req.installationId,
      dueAt: next ? next.toISOString() : null,
    });
  } catch (error) {
    // The decision is recorded and will be reported; a missed schedule only delays the window's effect to the next event.
    req.log.error({ err: error, pr: req.pr.number }, "could not schedule the re-evaluation of a time window");
  }
}

/** Notes that apply to every check of the org (an org policy Governor cannot see), above the decision. */
function withNotes(notes: readonly string[], summary: string): string {
  return notes.length ? `${notes.map((n) => `> ⚠️ ${n}`).join("\n>\n")}\n\n${summary}` : summary;
}

const STRICTNESS: Record<Decision["outcome"], number> = { not_governed: 0, allowed: 1, needs_approval: 2, denied: 3, error: 4 };

/**
 * The decision the commit's check must show. Another open PR can have the same head (the same branch proposed into a
 * second base, whose policy may be laxer); since the check is the commit's, it shows the strictest of their decisions,
 * or a PR could pass another's required check. Costs a call only when another PR was evaluated at this commit.
 */
export async function strictestForCommit(
  req: Pick<GovernRequest, "octokit" | "repository" | "log"> & { pr: { number: number; head: { sha: string } } },
  deps: AppDeps,
  own: Decision,
): Promise<{ decision: Decision; fromPr?: number; row?: number }> {
  const { octokit, repository, pr } = req;
  let shown: { decision: Decision; fromPr?: number; row?: number } = { decision: own };
  for (const other of await deps.audit.latestForHead(repository.full_name, pr.head.sha)) {
    // Row 0 is "no PR could be named" (a failed re-run lookup): nothing that can be re-read, and not a PR's decision.
    if (other.pr === pr.number || other.pr <= 0) continue;
    const theirs = JSON.parse(other.decision) as Decision;
    if (STRICTNESS[theirs.outcome] <= STRICTNESS[shown.decision.outcome]) continue;
    try {
      const { data } = await octokit.rest.pulls.get({ owner: repository.owner.login, repo: repository.name, pull_number: other.pr });
      if (data.state !== "open" || data.head.sha !== pr.head.sha) continue;
    } catch (error) {
      req.log.warn({ err: error, pr: other.pr }, "could not tell whether a PR sharing this commit is still open; counting it");
    }
    shown = { decision: theirs, fromPr: other.pr, row: other.id };
  }
  return shown;
}
