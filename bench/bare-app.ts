// The webhook benchmark's baseline as a process of its own, like `governor serve`: Probot's own webhook middleware
// and Octokit, posting one completed check run a PR and deciding nothing. Prints "listening on URL" when ready.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, Probot, ProbotOctokit } from "probot";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`bench/bare-app.ts needs ${name}`);
  return value;
};

// Probot's default Octokit spaces writes a second apart (its throttling plugin), which would make the baseline a
// 1 check/s strawman; the bare app gets the same switch Governor uses, so the two differ only in the work they do.
const probot = new Probot({
  appId: Number(env("APP_ID")),
  privateKey: env("PRIVATE_KEY"),
  secret: env("WEBHOOK_SECRET"),
  baseUrl: `http://${env("GHE_HOST")}/api/v3`,
  logLevel: "fatal",
  Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
    ...options,
    throttle: { ...(options["throttle"] as object | undefined), enabled: false },
  })),
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.on("pull_request.opened", async (context) => {
      await context.octokit.rest.checks.create(
        context.repo({ name: "governance", head_sha: context.payload.pull_request.head.sha, status: "completed", conclusion: "success" }),
      );
    });
  },
  { probot },
);
const server = createServer((req, res) => void middleware(req, res));
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
