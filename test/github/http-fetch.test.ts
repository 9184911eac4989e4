// The fetch Governor's Octokit uses, against real HTTP servers on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { governorOctokit } from "../../src/github/octokit.js";
import { HttpFetchError, httpFetch } from "../../src/github/http-fetch.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  socket: unknown;
}

// These tests are of the real node:http path. Test files share a process, and one that used the GitHub double (nock)
// leaves its interceptor installed, which passes requests through on connections of its own; it is lifted meanwhile.
let nockWasActive = false;
beforeAll(() => {
  nockWasActive = nock.isActive();
  if (nockWasActive) nock.restore();
});
afterAll(() => {
  if (nockWasActive) nock.activate();
});

const servers: Server[] = [];
/** Closes every server, dropping the connections the keep-alive agents hold open. */
async function closeAll(): Promise<void> {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise((resolve) => {
          s.close(resolve);
          s.closeAllConnections();
        }),
    ),
  );
}
afterEach(closeAll);

/** A server that records each request and answers with `answer`; returns its base URL and what it saw. */
async function serve(answer: (req: Seen, res: ServerResponse) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const entry = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, socket: req.socket };
      seen.push(entry);
      answer(entry, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, data: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(data));
}

describe("httpFetch", () => {
  it("sends the method, headers and body, and gives back the status, headers and body", async () => {
    const { base, seen } = await serve((_, res) => json(res, 201, { id: 7 }, { "x-ratelimit-remaining": "4999", link: ["<a>; rel=next", "<b>; rel=last"] }));
    const fetch = httpFetch({ timeoutMs: 5000 });
    const res = await fetch(`${base}/repos/a/b/check-runs`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"governance"}' });
    expect(seen[0]).toMatchObject({ method: "POST", url: "/repos/a/b/check-runs", body: '{"name":"governance"}' });
    expect(seen[0]?.headers["content-type"]).toBe("application/json");
    expect([res.status, res.ok, res.url]).toEqual([201, true, `${base}/repos/a/b/check-runs`]);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("4999");
    expect(res.headers.get("link")).toBe("<a>; rel=next, <b>; rel=last");
    expect(await res.json()).toEqual({ id: 7 });
  });

  it("reuses one connection for calls made one after another", async () => {
    const { base, seen } = await serve((_, res) => json(res, 200, {}));
    const fetch = httpFetch({ timeoutMs: 5000 });
    await (await fetch(`${base}/one`)).text();
    await (await fetch(`${base}/two`)).text();
    expect(seen).toHaveLength(2);
    expect(seen[1]?.socket).toBe(seen[0]?.socket);
  });

  it("follows a moved repository's redirect with the same method", async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === "/repos/old/name/pulls/1") {
        res.writeHead(301, { location: "/repositories/42/pulls/1" });
        res.end();
      } else json(res, 200, { number: 1 });
    });
    const res = await httpFetch({ timeoutMs: 5000 })(`${base}/repos/old/name/pulls/1`, { headers: { authorization: "token t" } });
    expect(await res.json()).toEqual({ number: 1 });
    expect(res.url).toBe(`${base}/repositories/42/pulls/1`);
    expect(seen.map((s) => [s.method, s.url, s.headers.authorization])).toEqual([
      ["GET", "/repos/old/name/pulls/1", "token t"],
      ["GET", "/repositories/42/pulls/1", "token t"],
    ]);
  });

  it("turns a POST redirected with 303 into a GET without its body", async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === "/submit") {
        res.writeHead(303, { location: "/result" });
        res.end();
      } else json(res, 200, {});
    });
    await httpFetch({ timeoutMs: 5000 })(`${base}/submit`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(seen.map((s) => [s.method, s.url, s.body, s.headers["content-type"]])).toEqual([
      ["POST", "/submit", "{}", "application/json"],
      ["GET", "/result", "", undefined],
    ]);
  });

  it("does not send the token on to another origin", async () => {
    const other = await serve((_, res) => json(res, 200, {}));
    const { base } = await serve((_, res) => {
      res.writeHead(302, { location: `${other.base}/elsewhere` });
      res.end();
    });
    await httpFetch({ timeoutMs: 5000 })(`${base}/start`, { headers: { Authorization: "token secret" } });
    expect(other.seen[0]?.headers.authorization).toBeUndefined();
  });

  it("fails an attempt that gets no complete answer in time, as a TimeoutError", async () => {
    const { base } = await serve(() => undefined); // never answers
    const error = await httpFetch({ timeoutMs: 100 })(`${base}/slow`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpFetchError);
    expect(error).toMatchObject({ name: "TimeoutError", url: `${base}/slow` });
  });

  it("stops when the caller's signal aborts, as an AbortError", async () => {
    const { base } = await serve(() => undefined);
    const controller = new AbortController();
    const pending = httpFetch({ timeoutMs: 5000 })(`${base}/slow`, { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 20);
    expect(await pending).toMatchObject({ name: "AbortError" });
  });

  it("refuses a body that is neither text nor bytes, before it connects", async () => {
    const { base, seen } = await serve((_, res) => json(res, 200, {}));
    const stream = new Blob(["x"]).stream() as unknown as string;
    await expect(httpFetch({ timeoutMs: 5000 })(`${base}/upload`, { method: "POST", body: stream })).rejects.toMatchObject({
      name: "TypeError",
      message: "a request body must be a string or bytes",
    });
    expect(seen).toHaveLength(0);
  });

  it("reports a refused connection as a failed fetch", async () => {
    const { base } = await serve((_, res) => json(res, 200, {}));
    await closeAll();
    await expect(httpFetch({ timeoutMs: 5000 })(`${base}/gone`)).rejects.toMatchObject({ name: "TypeError", message: /ECONNREFUSED/ });
  });
});

describe("Governor's Octokit over httpFetch", () => {
  it("gives GitHub's error message and status as Octokit's RequestError", async () => {
    const { base } = await serve((_, res) => json(res, 422, { message: "Validation Failed", documentation_url: "https://docs.github.com/rest" }));
    const octokit = new (governorOctokit({ retries: 0 }))({ baseUrl: base, auth: { token: "token-of-an-installation" } });
    const error = (await octokit
      .request("POST /repos/{owner}/{repo}/check-runs", { owner: "a", repo: "b", name: "x", head_sha: "1" })
      .catch((e: unknown) => e)) as Error & {
      status: number;
    };
    expect([error.status, error.message]).toEqual([422, "Validation Failed - https://docs.github.com/rest"]);
  });

  it("retries an attempt that timed out, and returns the answer of the next", async () => {
    let calls = 0;
    const { base } = await serve((_, res) => {
      if ((calls += 1) > 1) json(res, 200, { login: "octocat" });
    });
    const octokit = new (governorOctokit({ retries: 1, retryAfterBaseValue: 1, timeoutMs: 100 }))({ baseUrl: base });
    const { data } = await octokit.request("GET /user");
    expect([data.login, calls]).toEqual(["octocat", 2]);
  });
});
