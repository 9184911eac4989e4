// The bad-input corpus (fixtures/bad/cases.json): every hostile or broken policy, payload and request gets the answer
// the corpus states, through the real entry points (`governor validate`, the running app over signed HTTP), and the
// app keeps serving after each.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "@octokit/webhooks-methods";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../../src/demo/stack.js";
import type { Webhook } from "../../src/sim/index.js";
import { run, tempDir } from "../helpers/cli.js";

const BAD = fileURLToPath(new URL("../../fixtures/bad/", import.meta.url));
const REPO = "acme/webapp";
const copilot = { login: "Copilot", type: "Bot" as const };

interface PolicyCase {
  id: string;
  file?: string;
  generate?: string;
  expect?: string;
  at?: string;
  valid?: boolean;
  layout?: "both-files" | "org";
  app_only?: boolean;
}
interface PayloadCase {
  id: string;
  set?: Record<string, unknown>;
  delete?: string[];
  files?: number;
  expect: { status: number; check: string | null; audit?: string | null; title?: string; note?: string };
}
interface HttpCase {
  id: string;
  signature?: string;
  replay?: boolean;
  omit_header?: string;
  body?: string;
  method?: string;
  expect: number;
  note?: string;
  evaluations?: number;
}
const corpus = JSON.parse(readFileSync(join(BAD, "cases.json"), "utf8")) as { policies: PolicyCase[]; payloads: PayloadCase[]; http: HttpCase[] };

/** The cases too large or too regular to keep as files. */
function generated(name: string): string {
  const head = "version: 1\nowners: { teams: [acme/platform] }\ndefault: allow\n";
  switch (name) {
    case "ten-megabytes":
      return `${head}${"# padding padding padding padding padding padding padding padding padding pad\n".repeat(140_000)}`.slice(0, 10 * 1024 * 1024);
    case "deep-nesting":
      return `version: 1\nx: ${"[".repeat(100)}${"]".repeat(100)}\n`;
    case "too-many-rules":
      return `${head}rules:\n${Array.from({ length: 501 }, (_, i) => `  - id: r${i}\n    match: { paths: ["p${i}/**"] }\n    action: allow\n`).join("")}`;
    case "too-many-globs":
      return `${head}classes:\n${Array.from({ length: 6 }, (_, c) => `  c${c}: [${Array.from({ length: 900 }, (_, g) => `"d${c}/g${g}/**"`).join(", ")}]\n`).join("")}`;
    default:
      throw new Error(`no generator ${name}`);
  }
}

function policyText(c: PolicyCase): string {
  if (c.generate) return generated(c.generate);
  return readFileSync(join(BAD, c.file ?? ""), "utf8");
}

/** Sets (or deletes, with undefined) a dotted path in a JSON object. */
function patch(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = target;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
}

let s: Stack;
let db: Database.Database;
const health = async () => (await fetch(`${s.governor.url}/healthz`)).status;
/** Waits until the worker has nothing left, so "nothing happened" can be asserted. */
async function drained(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const h = (await (await fetch(`${s.governor.url}/healthz`)).json()) as { inbox_depth: number };
    if (h.inbox_depth === 0 && !db.prepare("SELECT 1 FROM delivery_queue WHERE status = 'processing'").get()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the inbox did not drain");
}
const auditRows = (delivery: string) =>
  db.prepare("SELECT outcome, title, decision, input_missing_reason FROM decisions WHERE delivery_id = ?").all(delivery) as Array<{
    outcome: string;
    title: string;
    decision: string;
    input_missing_reason: string | null;
  }>;
const inInbox = (delivery: string) => (db.prepare("SELECT count(*) AS n FROM delivery_queue WHERE delivery_id = ?").get(delivery) as { n: number }).n;

beforeAll(async () => {
  s = await startStack({ tune: { requestTimeoutMs: 2000, retryBaseMs: 20 } });
  db = new Database(s.databasePath, { readonly: true });
});
afterAll(async () => {
  db.close();
  await s.close();
});

describe("bad-input corpus", () => {
  it("holds at least 40 cases, each stating its expected answer", () => {
    const all = [...corpus.policies, ...corpus.payloads, ...corpus.http];
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    for (const c of corpus.policies) expect(c.valid === true || typeof c.expect === "string", c.id).toBe(true);
  });
});

describe("bad-input corpus: policy files through `governor validate`", () => {
  it.each(corpus.policies.filter((c) => !c.app_only).map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const dir = tempDir();
    const file = join(dir, `${c.id}.yml`);
    writeFileSync(file, c.file ? readFileSync(join(BAD, c.file)) : policyText(c));
    const result = await run(["validate", file], { cwd: dir });
    if (c.valid) {
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("valid");
      return;
    }
    expect(result.code).toBe(2);
    const line = result.stderr.split("\n").find((l) => l.includes(c.expect!));
    expect(line, result.stderr).toBeDefined();
    expect(line).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${c.at ?? "\\d+:\\d+"}: error:`));
  });
});

describe("bad-input corpus: policy files on the base branch of an agent PR", () => {
  let n = 0;
  it.each(corpus.policies.filter((c) => c.layout !== "org").map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const text = c.layout === "both-files" ? "version: 1\nowners: { teams: [acme/platform] }\ndefault: allow\n" : policyText(c);
    const extra: Record<string, string> = c.layout === "both-files" ? { ".github/governance.yml": text } : {};
    s.sim.commit(REPO, "main", { ".governance.yml": text, ...extra });
    try {
      const { pr, webhook } = s.sim.openPullRequest({
        repo: REPO,
        author: copilot,
        branch: `copilot/bad-${n++}`,
        files: [{ path: "docs/a.md", content: "x\n" }],
      });
      const done = s.sim.waitForCheck(REPO, pr.number);
      expect((await s.sim.send(webhook)).status).toBe(202);
      const check = await done;
      if (c.valid) {
        expect(check.conclusion).toBe("success");
      } else {
        expect(check.conclusion).toBe("failure");
        expect(`${check.output.title}\n${check.output.summary}`).toContain(c.expect!);
      }
      expect(await health()).toBe(200);
    } finally {
      if (c.layout === "both-files") s.sim.commit(REPO, "main", {}, [".github/governance.yml"]);
    }
  });

  it.each(corpus.policies.filter((c) => c.layout === "org").map((c) => [c.id, c] as const))("%s (org policy in acme/.github)", async (_, c) => {
    // Its own stack: the org policy's absence is cached for a minute by the shared one.
    const own = await startStack();
    try {
      own.sim.commit("acme/.github", "main", { "governance.yml": policyText(c) });
      const { pr, webhook } = own.sim.openPullRequest({ repo: REPO, author: copilot, branch: "copilot/org", files: [{ path: "docs/a.md", content: "x\n" }] });
      const done = own.sim.waitForCheck(REPO, pr.number);
      await own.sim.send(webhook);
      const check = await done;
      expect(check.conclusion).toBe("failure");
      expect(check.output.summary).toContain(c.expect!);
    } finally {
      await own.close();
    }
  });
});

describe("bad-input corpus: webhook payloads", () => {
  let n = 0;
  it.each(corpus.payloads.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    s.sim.commit(REPO, "main", {
      ".governance.yml":
        'version: 1\nowners: { teams: [acme/platform] }\nrules:\n  - id: docs\n    match: { paths: ["docs/**"] }\n    action: allow\ndefault: deny\n',
    });
    const files = c.files ? Array.from({ length: c.files }, (_, i) => ({ path: `docs/p${i}.md`, content: "x\n" })) : [{ path: "docs/a.md", content: "x\n" }];
    const { pr, webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: `copilot/payload-${n++}`, files });
    const payload = structuredClone(webhook.payload);
    for (const [path, value] of Object.entries(c.set ?? {})) patch(payload, path, value);
    for (const path of c.delete ?? []) patch(payload, path, undefined);
    const id = randomUUID();
    const sent = await s.sim.send({ event: webhook.event, payload } satisfies Webhook, { deliveryId: id });
    expect(sent.status).toBe(c.expect.status);
    if (c.expect.note) expect(JSON.parse(sent.body)).toMatchObject({ status: c.expect.note });
    await drained();

    const checks = s.sim.state.checkRunsFor(REPO, pr.head.sha).filter((r) => r.name === "governance");
    if (c.expect.check === null) {
      expect(checks).toEqual([]);
    } else {
      expect(checks.map((r) => [r.status, r.conclusion])).toEqual([["completed", c.expect.check]]);
      if (c.expect.title) expect(checks[0]!.output.title).toBe(c.expect.title);
    }
    if (c.expect.audit) {
      const rows = auditRows(id);
      expect(rows.map((r) => r.outcome)).toEqual(["error"]);
      expect(`${rows[0]!.title}\n${rows[0]!.decision}`).toContain(c.expect.audit);
      expect(rows[0]!.input_missing_reason).toBeTruthy();
    }
    expect(await health()).toBe(200);
  });
});

describe("bad-input corpus: requests to the webhook endpoint", () => {
  let n = 0;
  it.each(corpus.http.map((c) => [c.id, c] as const))("%s", async (_, c) => {
    const { webhook } = s.sim.openPullRequest({ repo: REPO, author: copilot, branch: `copilot/http-${n++}`, files: [{ path: "docs/a.md", content: "x\n" }] });
    const valid = JSON.stringify(webhook.payload);
    const body =
      c.body === "deep"
        ? `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`
        : c.body === "oversized"
          ? JSON.stringify({ pad: "x".repeat(26 * 1024 * 1024) })
          : (c.body ?? valid);
    const id = randomUUID();
    const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": id };
    const good = await sign(s.secret, body);
    switch (c.signature) {
      case undefined:
        headers["x-hub-signature-256"] = good;
        break;
      case "none":
        break;
      case "wrong-secret":
        headers["x-hub-signature-256"] = await sign("not-the-secret", body);
        break;
      case "sha1-only":
        headers["x-hub-signature"] = `sha1=${createHmac("sha1", s.secret).update(body).digest("hex")}`;
        break;
      case "of-another-body":
        headers["x-hub-signature-256"] = await sign(s.secret, `${body} `);
        break;
      default:
        headers["x-hub-signature-256"] = c.signature;
    }
    if (c.omit_header) delete headers[c.omit_header];
    const send = () => fetch(s.governor.webhookUrl, c.method === "GET" ? { method: "GET" } : { method: "POST", headers, body });
    const first = await send();
    expect(first.status).toBe(c.expect);
    if (c.note) expect(await first.json()).toMatchObject({ status: c.note });
    if (c.replay) {
      const again = await send();
      expect(again.status).toBe(202);
      expect(await again.json()).toMatchObject({ status: "duplicate" });
    }
    await drained();
    if (c.expect >= 400) {
      expect(inInbox(id)).toBe(0);
      expect(auditRows(id)).toEqual([]);
    }
    if (c.evaluations !== undefined) expect(auditRows(id)).toHaveLength(c.evaluations);
    expect(await health()).toBe(200);
  });
});
