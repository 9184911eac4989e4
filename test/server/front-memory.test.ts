import { spawn } from "node:child_process";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { createFront } from "../../src/server/http.js";
import { openSqliteStores } from "../../src/store/sqlite/index.js";
import { createMetrics } from "../../src/server/metrics.js";
import { ROOT, tempDir } from "../helpers/cli.js";

const MB = 1024 * 1024;

/** POSTs `size` bytes in 1 MB chunks; resolves with the status, or 0 when the server closed the connection first. */
function postBody(port: number, size: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/api/github/webhooks",
        method: "POST",
        headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": String(Math.random()), ...headers },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    const chunk = Buffer.alloc(MB, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        sent += MB;
        if (!req.write(chunk)) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

describe("webhook front: memory under hostile bodies", () => {
  it("refuses forty concurrent unsigned 24 MB bodies without buffering them: RSS grows by less than 300 MB", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/server/front-child.ts"), tempDir()], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const next = () => new Promise<string>((resolve) => lines.once("line", resolve));
      const { port } = JSON.parse(await next()) as { port: number };
      const statuses = await Promise.all(Array.from({ length: 40 }, () => postBody(port, 24 * MB, {})));
      // Each is refused: 401 when the client reads the answer before the server closes, else a closed connection.
      expect(statuses.every((s) => s === 401 || s === 0)).toBe(true);
      child.stdin.write("peak\n");
      const { start, peak } = JSON.parse(await next()) as { start: number; peak: number };
      expect((peak - start) / MB).toBeLessThan(300);
    } finally {
      child.kill();
    }
  });
});

describe("webhook front: bodies refused before they are read", () => {
  const closers: Array<() => void> = [];
  afterEach(() => closers.splice(0).forEach((c) => c()));

  it("answers 413 to a signed delivery whose Content-Length is over 25 MB as soon as the headers arrive", async () => {
    const inbox = openSqliteStores(join(tempDir(), "front.db")).queue;
    const server = createFront({
      secret: "s",
      webhookPath: "/api/github/webhooks",
      inbox,
      metrics: createMetrics(inbox),
      self: { appId: 1 },
      onQueued: () => undefined,
      log: () => undefined,
      health: async () => ({ ok: true, detail: {} }),
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const status = await new Promise<number>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/github/webhooks",
          method: "POST",
          headers: {
            "content-length": String(30 * MB),
            "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
            "x-github-event": "ping",
            "x-github-delivery": "1",
          },
        },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on("error", () => resolve(0));
      req.write("{"); // and nothing more: the answer must not wait for the other 30 MB
    });
    expect(status).toBe(413);
  }, 10_000);
});
