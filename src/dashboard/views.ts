// The dashboard's pages, rendered from the decision's structured fields (never from its prose summary).
import { z } from "zod";
import type { ReplayResult } from "../audit/replay.js";
import type { AuditRow } from "../audit/store.js";
import { html, jsonForScript, Safe, safeUrl, type Value } from "./html.js";
import { outcomeBadge, page, type Viewer } from "./layout.js";
import {
  type AgentDay,
  type BudgetLine,
  type DecisionFilters,
  type DecisionListItem,
  OUTCOMES,
  type OverrideItem,
  type Page,
  type VerifyStatus,
} from "./source.js";
import { decisionTitle, escalationText, ignoredWhy, ruleReason } from "../report/phrases.js";
import { StoredDecisionSchema } from "../policy/decision.js";
import type { LimitLike } from "../report/phrases.js";

const FILES_SHOWN = 200;

/**
 * The decision as the dashboard reads it: every field optional and unknown fields kept, so rows from older or newer
 * evaluators still render (what does not parse is shown as raw JSON instead).
 */
const PolicyRefView = z.looseObject({
  source: z.string(),
  path: z.string().optional(),
  repo: z.string().optional(),
  sha: z.string().optional(),
  line: z.number().optional(),
});
const GateView = z.looseObject({
  approvers: z.looseObject({ teams: z.array(z.string()).default([]), users: z.array(z.string()).default([]), count: z.number().default(0) }),
  approved_by: z.array(z.string()).default([]),
  changes_requested_by: z.array(z.string()).default([]),
  ignored: z.array(z.looseObject({ login: z.string(), code: z.string().optional(), why: z.string().optional() })).default([]),
  met: z.boolean(),
});
const RuleView = z.looseObject({
  id: z.string(),
  action: z.string(),
  files: z.array(z.string()).default([]),
  reason: z.unknown().optional(),
  code: z.string().optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  escalate: z.string().optional(),
  escalation: z
    .looseObject({ code: z.string(), params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}) })
    .optional(),
  policy_ref: PolicyRefView.optional(),
  gate: GateView.optional(),
});
const DecisionView = z.looseObject({
  outcome: z.string(),
  evaluator_version: z.string().optional(),
  agent: z
    .looseObject({ name: z.string(), signals: z.array(z.looseObject({ kind: z.string(), value: z.string(), matched: z.string() })).default([]) })
    .nullable()
    .optional(),
  rules: z.array(RuleView).default([]),
  gates: z.looseObject({ total: z.number(), met: z.number() }).optional(),
  unmatched_files: z.array(z.string()).default([]),
  limits: z.array(z.looseObject({ id: z.string(), limit: z.number(), actual: z.number(), exceeded: z.boolean() })).default([]),
  files_considered: z.number().optional(),
  errors: z
    .array(
      z.looseObject({
        message: z.string(),
        file: z.string().optional(),
        line: z.number().optional(),
        column: z.number().optional(),
        field: z.string().optional(),
      }),
    )
    .default([]),
});
type PolicyRef = z.infer<typeof PolicyRefView>;

export interface Links {
  /** GitHub's web address (https://github.com or the GHE host) for PR and policy links. */
  htmlBase: string;
}

const time = (iso: string) => html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>`;
export const prPath = (repo: string, pr: number) => `/dashboard/prs/${repo.split("/").map(encodeURIComponent).join("/")}/${pr}`;
const decisionPath = (id: number) => `/dashboard/decisions/${id}`;

export function policyUrl(ref: PolicyRef, links: Links): string | null {
  if (ref.source === "builtin" || !ref.repo || !ref.path) return null;
  return safeUrl(`${links.htmlBase}/${ref.repo}/blob/${ref.sha ?? "HEAD"}/${ref.path}${ref.line ? `#L${ref.line}` : ""}`);
}

function query(filters: FilterForm, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The filter values as typed (dates as YYYY-MM-DD), to refill the form. */
export interface FilterForm {
  org?: string;
  repo?: string;
  agent?: string;
  outcome?: string;
  mode?: string;
  since?: string;
  until?: string;
}

function filterForm(action: string, form: FilterForm): Safe {
  const field = (name: keyof FilterForm, label: string, type = "text", placeholder = "") =>
    html`<label for="f-${name}"
      >${label}<input id="f-${name}" name="${name}" type="${type}" value="${form[name] ?? ""}" ${placeholder ? html` placeholder="${placeholder}"` : ""}
    /></label>`;
  return html`<form class="filters" method="get" action="${action}" role="search" aria-label="Filter decisions">
    ${field("org", "Organization", "text", "acme")} ${field("repo", "Repository", "text", "acme/webapp")} ${field("agent", "Agent", "text", "copilot")}
    <label for="f-outcome"
      >Outcome<select id="f-outcome" name="outcome">
        <option value="">any</option>
        ${OUTCOMES.map((o) => html`<option value="${o}" ${form.outcome === o ? new Safe(" selected") : ""}>${o.replace(/_/g, " ")}</option>`)}
      </select></label
    >
    <label for="f-mode"
      >Mode<select id="f-mode" name="mode">
        <option value="">any</option>
        <option value="enforce" ${form.mode === "enforce" ? new Safe(" selected") : ""}>enforce only</option>
        <option value="observe" ${form.mode === "observe" ? new Safe(" selected") : ""}>observe mode applied</option>
      </select></label
    >
    ${field("since", "From (UTC)", "date")} ${field("until", "To (UTC, inclusive)", "date")}
    <button type="submit" class="primary">Apply</button> <a href="${action}">Clear</a>
  </form>`;
}

function decisionTable(items: DecisionListItem[], caption: string): Safe {
  if (items.length === 0) return html`<p class="note" role="status">No decisions match.</p>`;
  return html`<table>
    <caption class="note" style="text-align:left">
      ${caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">Row</th>
        <th scope="col">Recorded (UTC)</th>
        <th scope="col">Repository</th>
        <th scope="col">PR</th>
        <th scope="col">Agent</th>
        <th scope="col">Outcome</th>
        <th scope="col">Title</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (d) =>
          html`<tr>
            <td><a href="${decisionPath(d.id)}">#${d.id}</a></td>
            <td>${time(d.recorded_at)}</td>
            <td>${d.repo}</td>
            <td><a href="${prPath(d.repo, d.pr)}" aria-label="History of ${d.repo}#${d.pr}">#${d.pr}</a></td>
            <td>${d.agent ?? html`<span class="note">none</span>`}</td>
            <td>${outcomeBadge(d.outcome)}</td>
            <td>${d.title}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function pager(base: string, form: FilterForm, result: Page<unknown>, cursor: string | undefined): Safe {
  return html`<nav class="pager" aria-label="Pages">
    ${cursor ? html`<a href="${base}${query(form)}">Newest</a>` : ""}${result.next ? html`<a href="${base}${query(form, { cursor: result.next })}" rel="next">Older decisions</a>` : html`<span class="note">End of the trail.</span>`}
  </nav>`;
}

export function decisionsPage(viewer: Viewer, form: FilterForm, result: Page<DecisionListItem>, cursor: string | undefined): Safe {
  return page({
    title: "Decisions",
    section: "decisions",
    viewer,
    body: html`<h1>Decisions</h1>
      ${filterForm("/dashboard", form)} ${decisionTable(result.items, `Newest first${cursor ? ", continued" : ""}: ${result.items.length} shown.`)}
      ${pager("/dashboard", form, result, cursor)}
      <p class="note">
        The same list as JSON: <a href="/api/decisions${query(form, cursor ? { cursor } : {})}">/api/decisions${query(form, cursor ? { cursor } : {})}</a>
      </p>`,
  });
}

export function overridesPage(viewer: Viewer, filters: DecisionFilters, form: FilterForm, result: Page<OverrideItem>, cursor: string | undefined): Safe {
  return page({
    title: "Overrides",
    section: "overrides",
    viewer,
    body: html`<h1>Overrides</h1>
      <p>
        A break-glass override (<code>/governance override &lt;reason&gt;</code>, by a person the policy's <code>overrides</code> names) lets one head commit
        through the rules that blocked it. Each is a decision in the trail, with who, why, when and the rules it lifted. Refused attempts are recorded as
        <code>error</code> decisions on the decisions page.
      </p>
      ${filterForm("/dashboard/overrides", form)}
      ${
        result.items.length === 0 && !cursor
          ? html`<p role="status">
              <strong>No overrides recorded.</strong>
              ${Object.keys(filters).length ? "None match these filters." : "Nothing in the trail was let through against its policy."}
            </p>`
          : html`${overrideTable(result.items)}${pager("/dashboard/overrides", form, result, cursor)}`
      }`,
  });
}

function overrideTable(items: OverrideItem[]): Safe {
  return html`<table>
    <caption class="note" style="text-align:left">
      Newest first.
    </caption>
    <thead>
      <tr>
        <th scope="col">Row</th>
        <th scope="col">When (UTC)</th>
        <th scope="col">Repository</th>
        <th scope="col">PR</th>
        <th scope="col">Agent</th>
        <th scope="col">By</th>
        <th scope="col">Reason</th>
        <th scope="col">Rules lifted</th>
      </tr>
    </thead>
    <tbody>
      ${items.map(
        (d) =>
          html`<tr>
            <td><a href="${decisionPath(d.id)}">#${d.id}</a></td>
            <td>${time(d.override?.at ?? d.recorded_at)}</td>
            <td>${d.repo}</td>
            <td><a href="${prPath(d.repo, d.pr)}" aria-label="History of ${d.repo}#${d.pr}">#${d.pr}</a></td>
            <td>${d.agent ?? html`<span class="note">none</span>`}</td>
            <td>${d.override ? d.override.by.map((l) => `@${l}`).join(", ") : html`<span class="note">not readable</span>`}</td>
            <td>${d.override?.reason ?? ""}</td>
            <td>${(d.override?.rules ?? []).map((r, i) => html`${i ? ", " : ""}<code>${r}</code>`)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function reasonText(reason: unknown): Value {
  if (reason === undefined || reason === null) return null;
  if (typeof reason === "string") return reason;
  return html`<code>${JSON.stringify(reason)}</code>`;
}

function who(a: { teams: string[]; users: string[] }): string {
  return [...a.teams.map((t) => `@${t}`), ...a.users.map((u) => `@${u}`)].join(", ") || "nobody (no approvers configured)";
}

/** The rule's "why" through the shared phrasing: the author's reason, or the text of a v2 code. */
function ruleWhy(rule: z.infer<typeof RuleView>, limits: readonly LimitLike[]): Value {
  if (rule.reason !== undefined && typeof rule.reason !== "string") return reasonText(rule.reason);
  return (
    ruleReason(
      {
        id: rule.id,
        ...(typeof rule.reason === "string" ? { reason: rule.reason } : {}),
        ...(rule.code !== undefined ? { code: rule.code } : {}),
        ...(rule.params ? { params: rule.params } : {}),
      },
      { limits },
    ) ?? null
  );
}

function ruleSection(rule: z.infer<typeof RuleView>, links: Links, limits: readonly LimitLike[] = []): Safe {
  const why = ruleWhy(rule, limits);
  const escalation = rule.action !== "allow" ? escalationText(rule) : undefined;
  const state = rule.gate ? (rule.gate.met ? "met" : "not met") : rule.action === "deny" ? "denied" : rule.action === "allow" ? "allowed" : "";
  const ref = rule.policy_ref;
  const url = ref ? policyUrl(ref, links) : null;
  const g = rule.gate;
  return html`<section class="rule" aria-labelledby="rule-${rule.id.replace(/[^A-Za-z0-9_-]/g, "_")}">
    <h3 id="rule-${rule.id.replace(/[^A-Za-z0-9_-]/g, "_")}"><code>${rule.id}</code>: ${rule.action.replace(/_/g, " ")}${state ? ` (${state})` : ""}</h3>
    <dl class="facts">
      ${
        why !== null
          ? html`<dt>Why</dt>
              <dd>${why}</dd>`
          : ""
      }
      <dt>Policy</dt>
      <dd>
        ${url && ref ? html`<a href="${url}">${ref.repo}:${ref.path} line ${ref.line ?? 0}</a> <span class="note">at ${ref.sha?.slice(0, 12) ?? "HEAD"}</span>` : ref?.source === "builtin" ? "built into Governor" : ref ? `${ref.source} ${ref.path ?? ""}` : "not recorded"}
      </dd>
      ${
        g
          ? html`<dt>Approvals</dt>
              <dd>
                ${g.approved_by.length} of ${g.approvers.count} from
                ${who(g.approvers)}${g.approved_by.length ? html`; approved by ${g.approved_by.map((l) => `@${l}`).join(", ")}` : ""}
              </dd>
              ${
                g.changes_requested_by.length
                  ? html`<dt>Changes requested</dt>
                      <dd>${g.changes_requested_by.map((l) => `@${l}`).join(", ")}</dd>`
                  : ""
              }
              ${
                g.ignored.length
                  ? html`<dt>Not counted</dt>
                      <dd>
                        <ul>
                          ${g.ignored.map((i) => html`<li>@${i.login}: ${ignoredWhy(i)}</li>`)}
                        </ul>
                      </dd>`
                  : ""
              }`
          : ""
      }
      ${
        escalation
          ? html`<dt>Escalation</dt>
              <dd>${escalation}</dd>`
          : ""
      }
      <dt>Files (${rule.files.length})</dt>
      <dd>
        ${
          rule.files.length
            ? html`<ul class="files">
                  ${rule.files.slice(0, FILES_SHOWN).map((f) => html`<li><code>${f}</code></li>`)}
                </ul>
                ${rule.files.length > FILES_SHOWN ? html`<p class="note">and ${rule.files.length - FILES_SHOWN} more (see the JSON)</p>` : ""}`
            : html`<span class="note">none (a rule about the whole change)</span>`
        }
      </dd>
    </dl>
  </section>`;
}

function replayLine(result: ReplayResult): Safe {
  if (result.status === "identical") return html`<span class="status-ok">replays identically</span> with today's evaluator`;
  if (result.status === "skipped") return html`<span class="note">not replayed: ${result.why}</span>`;
  if (result.status === "older_evaluator")
    return html`<span class="note">recorded by evaluator ${result.recorded}, now ${result.now.evaluator_version}: not comparable byte for byte</span> (fields:
      ${result.fields.join(", ")})`;
  return html`<span class="status-bad">replays differently</span> (fields: ${result.fields.join(", ")}) — same evaluator version: the stored decision does not
    follow from its input`;
}

export function decisionPage(viewer: Viewer, row: AuditRow, replay: ReplayResult, links: Links): Safe {
  let parsed: z.infer<typeof DecisionView> | null = null;
  let raw: unknown = null;
  try {
    raw = JSON.parse(row.decision);
    const r = DecisionView.safeParse(raw);
    if (r.success) parsed = r.data;
  } catch {
    parsed = null;
  }
  const prUrl = safeUrl(`${links.htmlBase}/${row.repo}/pull/${row.pr}`);
  const anchor = `${row.id}:${row.hash.slice(0, 16)}`;
  const d = parsed;
  // The heading comes from the shared title renderer when the decision is a known shape (v1 or v2), else the row's column.
  const known = StoredDecisionSchema.safeParse(raw);
  const heading = known.success ? decisionTitle(known.data) : row.title;
  const body = html`<h1>Decision #${row.id}: ${outcomeBadge(row.outcome)} <span>${heading}</span></h1>
    <dl class="facts">
      <dt>Repository</dt>
      <dd>${row.repo}</dd>
      <dt>Pull request</dt>
      <dd><a href="${prPath(row.repo, row.pr)}">history of #${row.pr}</a> · <a href="${prUrl}">#${row.pr} on GitHub</a></dd>
      <dt>Recorded (UTC)</dt>
      <dd>${time(row.recorded_at)}</dd>
      <dt>Head / base</dt>
      <dd><code>${row.head_sha.slice(0, 12)}</code> / <code>${row.base_sha ? row.base_sha.slice(0, 12) : "unknown"}</code></dd>
      <dt>Agent</dt>
      <dd>${row.agent ?? "none"}</dd>
      <dt>Evaluator</dt>
      <dd>${row.evaluator_version}</dd>
      <dt>Delivery</dt>
      <dd>${row.delivery_id ?? "none (a CLI or re-run evaluation)"}</dd>
      ${
        d?.files_considered !== undefined
          ? html`<dt>Files considered</dt>
              <dd>${d.files_considered}</dd>`
          : ""
      }
      <dt>Audit anchor</dt>
      <dd>
        <code id="anchor">${anchor}</code> <span class="note">(check with <code>governor audit verify --expect ${anchor}</code>)</span>
      </dd>
      <dt>Replay</dt>
      <dd id="replay">${replayLine(replay)}</dd>
    </dl>
    ${
      d
        ? html`
            ${
              d.agent
                ? html`<h2>Identity signals</h2>
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">Signal</th>
                          <th scope="col">Value</th>
                          <th scope="col">Matched</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${d.agent.signals.map(
                          (s) =>
                            html`<tr>
                              <td>${s.kind.replace(/_/g, " ")}</td>
                              <td><code>${s.value}</code></td>
                              <td>${s.matched}</td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>`
                : ""
            }
            <h2>Rules (${d.rules.length})</h2>
            ${d.rules.length ? d.rules.map((r) => ruleSection(r, links, d.limits)) : html`<p class="note">No rule applied.</p>`}
            ${d.gates ? html`<p>Approval gates met: ${d.gates.met} of ${d.gates.total}.</p>` : ""}
            ${
              d.unmatched_files.length
                ? html`<h2>Files no rule matched (${d.unmatched_files.length})</h2>
                    <ul class="files">
                      ${d.unmatched_files.slice(0, FILES_SHOWN).map((f) => html`<li><code>${f}</code></li>`)}
                    </ul>`
                : ""
            }
            <h2>Budget</h2>
            ${
              d.limits.length
                ? html`<table>
                    <thead>
                      <tr>
                        <th scope="col">Limit</th>
                        <th scope="col" class="num">Allowed</th>
                        <th scope="col" class="num">This change</th>
                        <th scope="col">Exceeded</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${d.limits.map(
                        (l) =>
                          html`<tr>
                            <td><code>${l.id}</code></td>
                            <td class="num">${l.limit}</td>
                            <td class="num">${l.actual}</td>
                            <td>${l.exceeded ? html`<strong class="status-bad">yes</strong>` : "no"}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>`
                : html`<p class="note">No limits applied.</p>`
            }
            ${
              d.errors.length
                ? html`<h2>Errors</h2>
                    <ul>
                      ${d.errors.map((e) => html`<li>${e.file ? html`<code>${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ""}</code>: ` : ""}${e.field ? html`<code>${e.field}</code>: ` : ""}${e.message}</li>`)}
                    </ul>`
                : ""
            }
          `
        : html`<p class="status-bad">This row's decision is not in a shape this dashboard reads; it is shown as stored below.</p>`
    }
    ${row.input === null ? html`<p class="note">No input was recorded: ${row.input_missing_reason ?? "unknown"}.</p>` : ""}
    <details>
      <summary>The stored decision (JSON)</summary>
      <pre>${JSON.stringify(raw, null, 2)}</pre>
    </details>
    <p class="note">As JSON: <a href="/api/decisions/${row.id}">/api/decisions/${row.id}</a></p>`;
  return page({ title: `Decision #${row.id}`, section: "decisions", viewer, body });
}

export function historyPage(viewer: Viewer, repo: string, pr: number, rows: AuditRow[], links: Links): Safe {
  const prUrl = safeUrl(`${links.htmlBase}/${repo}/pull/${pr}`);
  return page({
    title: `${repo}#${pr}`,
    section: "decisions",
    viewer,
    body: html`<h1>History of ${repo}#${pr}</h1>
      <p><a href="${prUrl}">The pull request on GitHub</a> · every decision Governor recorded for it, oldest first.</p>
      ${
        rows.length === 0
          ? html`<p role="status">No decisions recorded for this pull request.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  <th scope="col">Recorded (UTC)</th>
                  <th scope="col">Head</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Rules</th>
                  <th scope="col">Anchor</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map((r) => {
                  let rules: string[] = [];
                  try {
                    const d = DecisionView.safeParse(JSON.parse(r.decision));
                    if (d.success) rules = d.data.rules.map((x) => x.id);
                  } catch {
                    rules = [];
                  }
                  return html`<tr>
                    <td><a href="${decisionPath(r.id)}">#${r.id}</a></td>
                    <td>${time(r.recorded_at)}</td>
                    <td><code>${r.head_sha.slice(0, 7)}</code></td>
                    <td>${r.agent ?? "none"}</td>
                    <td>${outcomeBadge(r.outcome)}</td>
                    <td>${rules.map((x, i) => html`${i ? ", " : ""}<code>${x}</code>`)}</td>
                    <td><code>${r.id}:${r.hash.slice(0, 16)}</code></td>
                  </tr>`;
                })}
              </tbody>
            </table>`
      }`,
  });
}

export interface AgentTotals {
  agent: string;
  prs: number;
  lines: number;
  allowed: number;
  needs_approval: number;
  denied: number;
  error: number;
  overrides: number;
  compute_minutes: number;
}

export function agentTotals(days: AgentDay[]): AgentTotals[] {
  const by = new Map<string, AgentTotals>();
  for (const d of days) {
    const t = by.get(d.agent) ?? {
      agent: d.agent,
      prs: 0,
      lines: 0,
      allowed: 0,
      needs_approval: 0,
      denied: 0,
      error: 0,
      overrides: 0,
      compute_minutes: 0,
    };
    t.prs += d.prs;
    t.lines += d.lines;
    t.allowed += d.allowed;
    t.needs_approval += d.needs_approval;
    t.denied += d.denied;
    t.error += d.error;
    t.overrides += d.overrides;
    t.compute_minutes += d.compute_minutes;
    by.set(d.agent, t);
  }
  return [...by.values()].sort((a, b) => a.agent.localeCompare(b.agent, "en"));
}

export function agentsPage(
  viewer: Viewer,
  window: { since: string; until: string; org?: string },
  form: { since: string; until: string; org?: string },
  days: AgentDay[],
): Safe {
  const totals = agentTotals(days);
  return page({
    title: "Agents",
    section: "agents",
    viewer,
    scripts: ["/dashboard/assets/chart.umd.min.js", "/dashboard/assets/agents.js"],
    body: html`<h1>Agents</h1>
      <form class="filters" method="get" action="/dashboard/agents" aria-label="Time window">
        <label for="a-org">Organization<input id="a-org" name="org" value="${form.org ?? ""}" placeholder="all" /></label>
        <label for="a-since">From (UTC)<input id="a-since" name="since" type="date" value="${form.since}" /></label>
        <label for="a-until">To (UTC, inclusive)<input id="a-until" name="until" type="date" value="${form.until}" /></label>
        <button type="submit" class="primary">Show</button>
      </form>
      <p class="note">
        From ${window.since.slice(0, 10)} to ${form.until}. PRs are counted once per day they were evaluated; lines are each PR's additions and deletions as its
        last decision of the day saw them; overrides are decisions a break-glass override let through; compute is the minutes of the agent's workflow jobs
        completed that day (each job rounded up to a minute, attributed by its repository's latest policy, as <code>governor usage</code> does).
      </p>
      <h2>Per agent</h2>
      ${
        totals.length === 0
          ? html`<p role="status">No agent activity in this window.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col" class="num">PR-days</th>
                  <th scope="col" class="num">Lines</th>
                  <th scope="col" class="num">Allowed</th>
                  <th scope="col" class="num">Needs approval</th>
                  <th scope="col" class="num">Denied</th>
                  <th scope="col" class="num">Errors</th>
                  <th scope="col" class="num">Overrides</th>
                  <th scope="col" class="num">Compute (min)</th>
                </tr>
              </thead>
              <tbody>
                ${totals.map(
                  (t) =>
                    html`<tr>
                      <th scope="row"><a href="/dashboard?agent=${encodeURIComponent(t.agent)}">${t.agent}</a></th>
                      <td class="num">${t.prs}</td>
                      <td class="num">${t.lines}</td>
                      <td class="num">${t.allowed}</td>
                      <td class="num">${t.needs_approval}</td>
                      <td class="num">${t.denied}</td>
                      <td class="num">${t.error}</td>
                      <td class="num">${t.overrides}</td>
                      <td class="num">${t.compute_minutes}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <h2>Over time</h2>
      <noscript><p class="note">The charts need JavaScript; the table below has the same figures.</p></noscript>
      <div class="charts">
        <figure>
          <figcaption id="c-outcomes-t">Decisions per day by outcome</figcaption>
          <div class="chart-box"><canvas id="chart-outcomes" role="img" aria-labelledby="c-outcomes-t"></canvas></div>
        </figure>
        <figure>
          <figcaption id="c-prs-t">PRs per day, per agent</figcaption>
          <div class="chart-box"><canvas id="chart-prs" role="img" aria-labelledby="c-prs-t"></canvas></div>
        </figure>
        <figure>
          <figcaption id="c-lines-t">Lines changed per day, per agent</figcaption>
          <div class="chart-box"><canvas id="chart-lines" role="img" aria-labelledby="c-lines-t"></canvas></div>
        </figure>
        <figure>
          <figcaption id="c-overrides-t">Overrides per day, per agent</figcaption>
          <div class="chart-box"><canvas id="chart-overrides" role="img" aria-labelledby="c-overrides-t"></canvas></div>
        </figure>
        <figure>
          <figcaption id="c-compute-t">Compute minutes per day, per agent (workflow jobs)</figcaption>
          <div class="chart-box"><canvas id="chart-compute" role="img" aria-labelledby="c-compute-t"></canvas></div>
        </figure>
      </div>
      <script type="application/json" id="agent-days">
        ${jsonForScript(days)}
      </script>
      <details>
        <summary>Per agent and day (table)</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Agent</th>
              <th scope="col" class="num">PRs</th>
              <th scope="col" class="num">Lines</th>
              <th scope="col" class="num">Allowed</th>
              <th scope="col" class="num">Needs approval</th>
              <th scope="col" class="num">Denied</th>
              <th scope="col" class="num">Errors</th>
              <th scope="col" class="num">Overrides</th>
              <th scope="col" class="num">Compute (min)</th>
            </tr>
          </thead>
          <tbody>
            ${days.map(
              (d) =>
                html`<tr>
                  <td>${d.day}</td>
                  <td>${d.agent}</td>
                  <td class="num">${d.prs}</td>
                  <td class="num">${d.lines}</td>
                  <td class="num">${d.allowed}</td>
                  <td class="num">${d.needs_approval}</td>
                  <td class="num">${d.denied}</td>
                  <td class="num">${d.error}</td>
                  <td class="num">${d.overrides}</td>
                  <td class="num">${d.compute_minutes}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </details>`,
  });
}

export function budgetsPage(viewer: Viewer, lines: BudgetLine[]): Safe {
  return page({
    title: "Budgets",
    section: "budgets",
    viewer,
    body: html`<h1>Budgets</h1>
      <p>
        Each agent's use against its limits in each repository, as the latest decision for that repository and agent measured it (<code>max_files</code> and
        <code>max_lines</code> are that PR's size; <code>max_prs_per_day</code> counts the agent's PRs in the 24 hours before it).
      </p>
      ${
        lines.length === 0
          ? html`<p role="status">No limits recorded: no policy in the trail sets <code>limits</code>, or no agent PR was evaluated.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th scope="col">Repository</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Limit</th>
                  <th scope="col" class="num">Used</th>
                  <th scope="col" class="num">Allowed</th>
                  <th scope="col">Use</th>
                  <th scope="col">As of</th>
                </tr>
              </thead>
              <tbody>
                ${lines.map((l) => {
                  const pct = l.limit > 0 ? Math.min(100, Math.round((l.actual / l.limit) * 100)) : 100;
                  return html`<tr>
                    <td>${l.repo}</td>
                    <td>${l.agent}</td>
                    <td><code>${l.id}</code></td>
                    <td class="num">${l.actual}</td>
                    <td class="num">${l.limit}</td>
                    <td>
                      <div class="bar${l.exceeded ? " over" : ""}" role="img" aria-label="${pct}% of the limit${l.exceeded ? ", exceeded" : ""}">
                        <span style="width:${pct}%"></span>
                      </div>
                    </td>
                    <td><a href="${decisionPath(l.decision_id)}">row #${l.decision_id}</a> ${time(l.recorded_at)}</td>
                  </tr>`;
                })}
              </tbody>
            </table>`
      }`,
  });
}

export function verifyPage(viewer: Viewer, status: VerifyStatus | null, running: boolean): Safe {
  return page({
    title: "Verification",
    section: "verify",
    viewer,
    body: html`<h1>Chain verification</h1>
      <p>
        Walks the hash chain from the first row: each row's content against its hash and its link to the row before, the table structure, the budget table and
        the stored policy texts (<code>governor audit verify</code>).
      </p>
      ${
        status
          ? html`<p id="verify-status" role="status">
              ${status.ok ? html`<span class="status-ok">Intact:</span> ${status.rows} rows verified` : html`<span class="status-bad">Broken:</span> ${status.problem}${status.broken_id !== null ? html` (<a href="${decisionPath(status.broken_id)}">row ${status.broken_id}</a>)` : ""}`}.
              Checked ${time(status.checked_at)} in ${status.ms} ms.
            </p>`
          : html`<p role="status">Not verified yet.</p>`
      }
      <form method="get" action="/dashboard/verify">
        <input type="hidden" name="run" value="1" /><button type="submit" ${running ? new Safe(" disabled") : ""}>Verify now</button>
        <span class="note">(at most once a minute; it reads every row)</span>
      </form>`,
  });
}

export function messagePage(viewer: Viewer | null, title: string, message: Value, extra: Value = ""): Safe {
  return page({
    title,
    section: "none",
    viewer,
    body: html`<h1>${title}</h1>
      <p>${message}</p>
      ${extra}`,
  });
}
