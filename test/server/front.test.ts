import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createFront } from "../../src/server/http.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { createMetrics } from "../../src/server/metrics.js";
import { tempDir } from "../helpers/cli.js";
import { example, signedHeaders } from "../helpers/webhooks.js";

const SECRET = "front-secret";
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function startFront(opts: { healthy?: boolean } = {}) {
  const inbox = openSqliteStores(join(tempDir(), "front.db")).queue;
  const metrics = createMetrics(inbox);
  let woken = 0;
  const server = createFront({
    secret: SECRET,
    webhookPath: "/api/github/webhooks",
    inbox,
    metrics,
    self: { appId: 42, slug: "governor" },
    onQueued: () => void woken++,
    log: () => undefined,
    health: async () => ({ ok: opts.healthy ?? true, detail: { database: opts.healthy === false ? "not writable" : "writable" } }),
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, inbox, woken: () => woken };
}

/** GitHub's examples are repository webhooks; an app's deliveries also name the installation. */
const installed = (payload: Record<string, unknown>) => ({ installation: { id: 99, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uOTk=" }, ...payload });

async function post(url: string, event: string, id: string, payload: Record<string, unknown>, secret = SECRET, mutate?: (h: Record<string, string>) => void) {
  const body = JSON.stringify(installed(payload));
  const headers = await signedHeaders(secret, event, id, body);
  mutate?.(headers);
  return fetch(`${url}/api/github/webhooks`, { method: "POST", headers, body });
}

describe("webhook front", () => {
  it("ignores a delivery that names no installation, saying why", async () => {
    const { url, inbox } = await startFront();
    const body = JSON.stringify(example("pull_request", "opened"));
    const res = await fetch(`${url}/api/github/webhooks`, { method: "POST", headers: await signedHeaders(SECRET, "pull_request", "d-noinst", body), body });
    expect(await res.json()).toEqual({ delivery: "d-noinst", status: "ignored", note: "the payload names no installation, so Governor cannot act on it" });
    expect(await inbox.depth()).toBe(0);
  });

  it("stores a signed delivery and answers 202 before any evaluation", async () => {
    const front = await startFront();
    const res = await post(front.url, "pull_request", "d-1", example("pull_request", "opened"));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ delivery: "d-1", status: "queued" });
    expect((await front.inbox.statusOf("d-1"))?.status).toBe("queued");
    expect(front.woken()).toBe(1);
  });

  it("rejects a wrong signature with 401 and stores nothing", async () => {
    const front = await startFront();
    const res = await post(front.url, "pull_request", "d-2", example("pull_request", "opened"), "not-the-secret");
    expect(res.status).toBe(401);
    expect(await front.inbox.statusOf("d-2")).toBeUndefined();
  });

  it("rejects a missing signature with 401", async () => {
    const front = await startFront();
    const res = await post(front.url, "pull_request", "d-3", example("pull_request", "opened"), SECRET, (h) => void delete h["x-hub-signature-256"]);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "missing X-Hub-Signature-256" });
  });

  it("answers a replayed delivery id as a duplicate without queueing it again", async () => {
    const front = await startFront();
    await post(front.url, "pull_request", "d-4", example("pull_request", "opened"));
    const again = await post(front.url, "pull_request", "d-4", example("pull_request", "opened"));
    expect(await again.json()).toEqual({ delivery: "d-4", status: "duplicate" });
    expect(await front.inbox.depth()).toBe(1);
  });

  it("ignores events Governor does not evaluate, saying why", async () => {
    const front = await startFront();
    const res = await post(front.url, "pull_request", "d-5", example("pull_request", "closed"));
    expect(await res.json()).toEqual({ delivery: "d-5", status: "ignored", note: "pull_request.closed does not change the decision" });
  });

  it("queues a /governance command on a PR, and ignores other comments and comments on issues", async () => {
    const front = await startFront();
    const comment = (body: string, onPr = true) => {
      const payload = example("issue_comment", "created");
      const issue = payload["issue"] as Record<string, unknown>;
      if (onPr) issue["pull_request"] = { url: "", html_url: "", diff_url: "", patch_url: "", merged_at: null };
      payload["comment"] = { ...(payload["comment"] as object), body };
      return payload;
    };
    const status = async (id: string, payload: Record<string, unknown>) =>
      (await (await post(front.url, "issue_comment", id, payload)).json()) as { status: string; note?: string };
    expect(await status("c-1", comment("/governance release taken over by a human"))).toEqual({ delivery: "c-1", status: "queued" });
    expect(await status("c-2", comment("looks good to me"))).toMatchObject({ status: "ignored", note: "a comment that is not a /governance command" });
    expect(await status("c-3", comment("/governance release x", false))).toMatchObject({
      status: "ignored",
      note: "a comment on an issue, not on a pull request",
    });
  });

  it("queues a merge queue's request for checks, keyed by the group's commit", async () => {
    const front = await startFront();
    const res = await post(front.url, "merge_group", "m-1", example("merge_group", "checks_requested"));
    expect(await res.json()).toEqual({ delivery: "m-1", status: "queued" });
  });

  it("ignores label changes made by Governor itself", async () => {
    const front = await startFront();
    const payload = example("pull_request", "labeled");
    payload["sender"] = { ...(payload["sender"] as object), login: "governor[bot]", type: "Bot" };
    const res = await post(front.url, "pull_request", "d-6", payload);
    expect(((await res.json()) as { status: string }).status).toBe("ignored");
  });

  it("rejects a signed body that is not JSON with 400", async () => {
    const front = await startFront();
    const body = "not json";
    const res = await fetch(`${front.url}/api/github/webhooks`, { method: "POST", headers: await signedHeaders(SECRET, "pull_request", "d-7", body), body });
    expect(res.status).toBe(400);
  });

  it("reports health and 503 when the database is not writable", async () => {
    expect((await fetch(`${(await startFront()).url}/healthz`)).status).toBe(200);
    const sick = await fetch(`${(await startFront({ healthy: false })).url}/healthz`);
    expect(sick.status).toBe(503);
    expect(await sick.json()).toEqual({ status: "unhealthy", database: "not writable" });
  });

  it("exposes Prometheus metrics with the inbox depth and deliveries", async () => {
    const front = await startFront();
    await post(front.url, "pull_request", "d-8", example("pull_request", "opened"));
    const text = await (await fetch(`${front.url}/metrics`)).text();
    expect(text).toContain('governor_deliveries_received_total{event="pull_request"} 1');
    expect(text).toContain("governor_inbox_depth 1");
    expect(text).toContain('governor_inbox_deliveries{status="queued"} 1');
  });
});
