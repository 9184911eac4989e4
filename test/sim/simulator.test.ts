// The simulator answers as GitHub does for the part of the API Governor uses, and sends webhooks GitHub's way.
import { createRequire } from "node:module";
import { verify } from "@octokit/webhooks-methods";
import { Ajv } from "ajv";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEMO_SCENARIO } from "../../src/demo/stack.js";
import { type FileChange, loadScenario, type Simulator, startSimulator, type Webhook } from "../../src/sim/index.js";
import type { Account } from "../../src/sim/state.js";
import { SNAPSHOT_QUERY, SnapshotSchema } from "../../src/github/snapshot.js";
import { compileFastCheck } from "../../src/policy/fast-check.js";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

const REPO = "acme/webapp";
let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator();
  loadScenario(sim, DEMO_SCENARIO);
});
afterEach(async () => {
  await sim.close();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${sim.apiUrl}${path}`, {
    ...init,
    headers: { authorization: "token ghs_test", "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
  });
const post = (path: string, body: unknown, method = "POST") => api(path, { method, body: JSON.stringify(body) });
const openPr = (files: FileChange[] = [{ path: "docs/a.md", content: "x\n" }], author: Account = { login: "Copilot", type: "Bot" }) =>
  sim.openPullRequest({ repo: REPO, author, branch: "copilot/x", files });

describe("simulator: GraphQL checked against GitHub's schema", () => {
  const graphql = (query: string, variables: object) =>
    fetch(`${sim.apiUrl.replace(/\/api\/v3$/, "")}/api/graphql`, {
      method: "POST",
      headers: { authorization: "token ghs_test", "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { data?: unknown; errors?: Array<{ message: string }> } }));

  it("answers the app's query for a PR, in the shape Governor checks", async () => {
    const { pr } = openPr([{ path: "docs/a.md", content: "x\n" }]);
    const answer = await graphql(SNAPSHOT_QUERY, { owner: "acme", repo: "webapp", number: pr.number });
    expect(answer.body.errors).toBeUndefined();
    const parsed = SnapshotSchema.parse(answer.body.data);
    expect(parsed.repository.pullRequest).toMatchObject({
      number: pr.number,
      state: "OPEN",
      headRefOid: pr.head.sha,
      files: { totalCount: 1, nodes: [{ path: "docs/a.md" }] },
    });
  });

  it("answers exactly the fields asked for, so Governor takes the answer as it is, as the schema would give it back", async () => {
    const { pr } = openPr([
      { path: "docs/a.md", content: "x\n" },
      { path: "db/1.sql", content: "y\n" },
    ]);
    const answer = await graphql(SNAPSHOT_QUERY, { owner: "acme", repo: "webapp", number: pr.number });
    expect(compileFastCheck(SnapshotSchema)(answer.body.data)).toBe(true);
    expect(SnapshotSchema.parse(answer.body.data)).toEqual(answer.body.data);
  });

  it("refuses a query asking for a field GitHub's schema does not have, as GitHub does (200 with errors)", async () => {
    const answer = await graphql(SNAPSHOT_QUERY.replace("changeType", "changeType previousPath"), { owner: "acme", repo: "webapp", number: 1 });
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.map((e) => e.message)).toEqual(['Cannot query field "previousPath" on type "PullRequestChangedFile".']);
  });
});

describe("simulator: requests checked against GitHub's OpenAPI description", () => {
  it("answers 404 for a path GitHub does not have", async () => {
    expect((await api("/repos/acme/webapp/no-such-thing")).status).toBe(404);
  });

  it("answers 404 for a repository it does not know", async () => {
    expect((await api("/repos/acme/nope/pulls/1")).status).toBe(404);
  });

  it("answers 401 without a token", async () => {
    expect((await fetch(`${sim.apiUrl}/repos/acme/webapp/pulls/1`)).status).toBe(401);
  });

  it("answers 422 to a body the schema rejects, naming the problem", async () => {
    const res = await post("/repos/acme/webapp/check-runs", { name: "governance", head_sha: "a".repeat(40), status: "finished" });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toContain("status");
  });

  it("answers 400 to a body that is not JSON", async () => {
    const res = await api("/repos/acme/webapp/check-runs", { method: "POST", body: "{" });
    expect(res.status).toBe(400);
  });
});

describe("simulator: pull request files", () => {
  it("pages 100 at a time with a Link header, and lists at most 3,000 files", async () => {
    const { pr } = openPr(Array.from({ length: 3005 }, (_, i) => ({ path: `docs/p${i}.md`, content: "x\n" })));
    const first = await api(`/repos/acme/webapp/pulls/${pr.number}/files?per_page=100`);
    expect(((await first.json()) as unknown[]).length).toBe(100);
    expect(first.headers.get("link")).toMatch(/[?&]page=2[^>]*>; rel="next".*[?&]page=30[^>]*>; rel="last"/);
    const last = await api(`/repos/acme/webapp/pulls/${pr.number}/files?per_page=100&page=30`);
    expect(((await last.json()) as unknown[]).length).toBe(100);
    expect(((await (await api(`/repos/acme/webapp/pulls/${pr.number}/files?per_page=100&page=31`)).json()) as unknown[]).length).toBe(0);
  });

  it("reports a rename with its previous path", async () => {
    const { pr } = openPr([{ path: "docs/new.md", previous_path: "docs/setup.md", status: "renamed" as const, content: "x\n" }]);
    const files = (await (await api(`/repos/acme/webapp/pulls/${pr.number}/files`)).json()) as Array<{
      filename: string;
      status: string;
      previous_filename?: string;
    }>;
    expect(files).toEqual([expect.objectContaining({ filename: "docs/new.md", status: "renamed", previous_filename: "docs/setup.md" })]);
  });
});

describe("simulator: contents", () => {
  it("serves a file at a commit with an ETag, and 304 when it has not changed", async () => {
    const first = await api("/repos/acme/webapp/contents/.governance.yml?ref=main");
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    const body = (await first.json()) as { content: string; encoding: string };
    expect(Buffer.from(body.content, "base64").toString()).toContain("version: 1");
    expect((await api("/repos/acme/webapp/contents/.governance.yml?ref=main", { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("answers 404 for a file that is not at that commit", async () => {
    expect((await api("/repos/acme/webapp/contents/missing.yml?ref=main")).status).toBe(404);
  });
});

describe("simulator: check runs", () => {
  const sha = () => sim.state.pull(REPO, openPr().pr.number).head.sha;

  it("creates and completes a check run", async () => {
    const head = sha();
    const created = (await (await post("/repos/acme/webapp/check-runs", { name: "governance", head_sha: head, status: "in_progress" })).json()) as {
      id: number;
    };
    const done = await post(
      `/repos/acme/webapp/check-runs/${created.id}`,
      { status: "completed", conclusion: "success", output: { title: "ok", summary: "fine" } },
      "PATCH",
    );
    expect(done.status).toBe(200);
    expect(sim.state.checkRunsFor(REPO, head)).toEqual([expect.objectContaining({ status: "completed", conclusion: "success" })]);
  });

  it("refuses a summary over 65,535 characters with 422, as GitHub does", async () => {
    const res = await post("/repos/acme/webapp/check-runs", { name: "governance", head_sha: sha(), output: { title: "t", summary: "x".repeat(65_536) } });
    expect(res.status).toBe(422);
  });

  it("refuses more than 50 annotations in one request with 422", async () => {
    const annotations = Array.from({ length: 51 }, (_, i) => ({ path: "a", start_line: i + 1, end_line: i + 1, annotation_level: "failure", message: "m" }));
    const res = await post("/repos/acme/webapp/check-runs", { name: "governance", head_sha: sha(), output: { title: "t", summary: "s", annotations } });
    expect(res.status).toBe(422);
  });
});

describe("simulator: labels and reviewers", () => {
  it("creates a label once (422 the second time), adds it to a PR and removes it", async () => {
    const { pr } = openPr();
    expect((await post("/repos/acme/webapp/labels", { name: "governance: allowed", color: "0e8a16" })).status).toBe(201);
    expect((await post("/repos/acme/webapp/labels", { name: "governance: allowed", color: "0e8a16" })).status).toBe(422);
    expect((await post(`/repos/acme/webapp/issues/${pr.number}/labels`, { labels: ["governance: allowed"] })).status).toBe(200);
    expect(sim.labelsOn(REPO, pr.number)).toEqual(["governance: allowed"]);
    expect((await api(`/repos/acme/webapp/issues/${pr.number}/labels/${encodeURIComponent("governance: allowed")}`, { method: "DELETE" })).status).toBe(200);
    expect(sim.labelsOn(REPO, pr.number)).toEqual([]);
  });

  it("refuses to request a review from the PR's author with 422", async () => {
    const { pr } = openPr(undefined, { login: "octocat", type: "User" });
    expect((await post(`/repos/acme/webapp/pulls/${pr.number}/requested_reviewers`, { reviewers: ["octocat"] })).status).toBe(422);
  });

  it("refuses more than 15 reviewers in one request with 422", async () => {
    const { pr } = openPr();
    const reviewers = Array.from({ length: 16 }, (_, i) => `user${i}`);
    expect((await post(`/repos/acme/webapp/pulls/${pr.number}/requested_reviewers`, { reviewers })).status).toBe(422);
  });
});

describe("simulator: faults", () => {
  it("answers an injected status the given number of times, then normally", async () => {
    const { pr } = openPr();
    sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}", kind: "status", status: 502, times: 1 });
    expect((await api(`/repos/acme/webapp/pulls/${pr.number}`)).status).toBe(502);
    expect((await api(`/repos/acme/webapp/pulls/${pr.number}`)).status).toBe(200);
  });

  it("answers a secondary rate limit with 403 and retry-after", async () => {
    const { pr } = openPr();
    sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}", kind: "secondary", retryAfter: 2, times: 1 });
    const res = await api(`/repos/acme/webapp/pulls/${pr.number}`);
    expect(res.status).toBe(403);
    expect(res.headers.get("retry-after")).toBe("2");
  });

  it("delays an answer by the injected latency", async () => {
    const { pr } = openPr();
    sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}", kind: "latency", latencyMs: 150, times: 1 });
    const started = performance.now();
    await api(`/repos/acme/webapp/pulls/${pr.number}`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("drops the connection without an answer", async () => {
    const { pr } = openPr();
    sim.faults.add({ route: "/repos/{owner}/{repo}/pulls/{pull_number}", kind: "drop", times: 1 });
    await expect(api(`/repos/acme/webapp/pulls/${pr.number}`)).rejects.toThrow();
  });
});

describe("simulator: webhooks", () => {
  const schemas = createRequire(import.meta.url)("@octokit/webhooks-schemas") as object;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(schemas, "webhooks");
  const validate = (w: Webhook) => {
    const action = (w.payload as { action: string }).action;
    const check = ajv.getSchema(`webhooks#/definitions/${w.event}$${action}`);
    if (!check) throw new Error(`no schema for ${w.event}.${action}`);
    return check(w.payload) ? [] : check.errors;
  };

  it("builds payloads that satisfy GitHub's published webhook schemas", () => {
    const { pr, webhook } = openPr();
    const all: Webhook[] = [
      webhook,
      sim.push(REPO, pr.number, [{ path: "docs/b.md", content: "y\n" }]).webhook,
      sim.review(REPO, pr.number, { login: "dana", type: "User" }, "APPROVED").webhook,
      sim.label(REPO, pr.number, "ai-generated", { login: "mia", type: "User" }),
      sim.setDraft(REPO, pr.number, true),
      sim.setDraft(REPO, pr.number, false),
      ...sim.enqueue(REPO, [pr.number]).map((g) => g.webhook),
      sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: pr.head.ref, minutes: 12 }).webhook,
      sim.workflowJob({ repo: REPO, workflow: "Copilot cloud agent", branch: pr.head.ref, minutes: 3, inProgress: true }).webhook,
    ];
    for (const w of all)
      expect(
        validate(w)?.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`),
        `${w.event}.${(w.payload as { action: string }).action}`,
      ).toEqual([]);
  });

  it("signs each delivery with HMAC-SHA256 of the body and sends GitHub's headers", async () => {
    const seen: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => void (body += c.toString()));
      req.on("end", () => {
        seen.push({ headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      sim.target(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, "s3cret");
      const sent = await sim.send(openPr().webhook, { deliveryId: "d-1" });
      expect(sent.status).toBe(202);
      const [got] = seen;
      expect(got?.headers["x-github-event"]).toBe("pull_request");
      expect(got?.headers["x-github-delivery"]).toBe("d-1");
      expect(await verify("s3cret", got!.body, String(got?.headers["x-hub-signature-256"]))).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
