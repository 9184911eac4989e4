// `governor dashboard`: the dashboard alone, over one audit trail (a SQLite file or PostgreSQL) opened read-only, on
// loopback, for the person running it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { githubBases } from "./config.js";
import { dashboardHandler } from "./index.js";
import { openAuditSource, type SourceLocation } from "./open-source.js";

export class LocalDashboardError extends Error {
  override name = "LocalDashboardError";
}

/** Only loopback: this dashboard has no sign-in, so it must not be reachable from another machine. */
export function isLoopbackAddress(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startLocalDashboard(
  opts: SourceLocation & {
    port: number;
    host: string;
    env: Record<string, string | undefined>;
  },
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  if (!isLoopbackAddress(opts.host))
    throw new LocalDashboardError(
      `--host ${opts.host}: the local dashboard has no sign-in, so it listens on loopback only (127.0.0.1, ::1 or localhost); use governor serve with GITHUB_CLIENT_ID for a shared one`,
    );
  const source = await openAuditSource(opts);
  const handle = dashboardHandler({ source, auth: { kind: "local" }, htmlBase: githubBases(opts.env).webBase });
  const server = createServer((req, res) => {
    void handle(req, res).then((done) => {
      if (!done) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        res.end("not found: the dashboard is at /dashboard\n");
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (error) {
    await source.close();
    throw error;
  }
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    url,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handle.close();
    },
  };
}
