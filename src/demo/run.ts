// `governor demo`: the simulator and the real app (a `governor serve` child process), and a story told through them.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { openAuditStore } from "../audit/store.js";
import type { CliContext } from "../cli/context.js";
import { loadScenario, type Simulator, startSimulator, type Webhook } from "../sim/index.js";
import { type AppProcess, generateAppKey, startAppProcess } from "./app-process.js";

const SCENARIO = fileURLToPath(new URL("../../fixtures/sim/acme.json", import.meta.url));
const REPO = "acme/webapp";

export interface DemoOptions {
  ctx: CliContext;
  keepServing: boolean;
  /** Where the demo's audit trail goes; default DEFAULT_DEMO_DATABASE, outside any working tree. */
  databasePath?: string;
  /** Overwrite a file that is not a demo database. */
  force?: boolean;
}

/** In the temporary folder, so the demo leaves nothing in the folder it is run from. */
export const DEFAULT_DEMO_DATABASE = join(tmpdir(), "governor-demo.db");

/** A file the demo refuses to replace without --force: anything but an audit database holding only the demo's repository. */
export class NotADemoDatabaseError extends Error {
  override name = "NotADemoDatabaseError";
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path} ${why}, not a demo database: refusing to overwrite it (pass --force to replace it, or choose another --db)`);
  }
}

function checkReplaceable(path: string): void {
  if (!existsSync(path)) return;
  let db: Database.Database | undefined;
  let others: number;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    others = (db.prepare("SELECT COUNT(*) AS n FROM decisions WHERE repo <> ?").get(REPO) as { n: number }).n;
  } catch {
    throw new NotADemoDatabaseError(path, "exists and is not a Governor audit database");
  } finally {
    db?.close();
  }
  if (others > 0) throw new NotADemoDatabaseError(path, `holds ${others} decisions for repositories other than the demo's ${REPO}`);
}

function indent(text: string, by = "    "): string {
  return text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");
}

/** The summary without its footer, and with long file lists kept short, for a terminal. */
function readable(summary: string | null): string {
  return (summary ?? "")
    .split("\n")
    .filter((l) => !l.startsWith("<sub>"))
    .join("\n")
    .trim();
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { ctx } = opts;
  const out = (s = "") => ctx.out(s);
  const databasePath = resolve(ctx.cwd, opts.databasePath ?? DEFAULT_DEMO_DATABASE);
  try {
    if (!opts.force) checkReplaceable(databasePath);
  } catch (error) {
    if (!(error instanceof NotADemoDatabaseError)) throw error;
    ctx.err(`governor demo: ${error.message}`);
    return 2;
  }
  const shownPath = opts.databasePath ?? databasePath;
  for (const suffix of ["", "-wal", "-shm"]) if (existsSync(databasePath + suffix)) rmSync(databasePath + suffix);

  const sim = await startSimulator();
  let app: AppProcess | undefined;
  try {
    const scenario = loadScenario(sim, SCENARIO);
    const secret = randomBytes(16).toString("hex");
    const appId = scenario.app?.id ?? 1;
    out(`Governor demo: a local GitHub simulator at ${sim.url} and the real app (governor serve) with a freshly generated key.`);
    app = await startAppProcess({ appId, privateKey: generateAppKey(), secret, gheHost: sim.host, databasePath });
    sim.target(app.webhookUrl, secret);
    out(`The app listens at ${app.url}; its audit trail is ${databasePath}.`);
    out(`Repository ${REPO} has a .governance.yml on main (fixtures/sim/webapp.governance.yml).\n`);

    const step = async (title: string, webhook: Webhook, number: number) => {
      const before = sim.latestCheck(REPO, number)?.completedAtMs;
      const payload = webhook.payload as {
        action: string;
        pull_request: { user: { login: string }; head: { ref: string } };
        review?: { user: { login: string }; state: string };
      };
      out(`── ${title}`);
      const who = payload.review
        ? `${payload.review.user.login} ${payload.review.state.replace("_", " ")}`
        : `${payload.pull_request.user.login} on ${payload.pull_request.head.ref}`;
      out(`   → ${webhook.event}.${payload.action} for ${REPO}#${number} (${who})`);
      const waiting = sim.waitForCheck(REPO, number, { timeoutMs: 15_000, ...(before !== undefined ? { after: before } : {}) });
      const sent = await sim.send(webhook);
      if (sent.status !== 202) throw new Error(`the app answered ${sent.status}: ${sent.body}`);
      const run = await waiting;
      out(`   ← check "governance": ${run.conclusion} · ${run.output.title}`);
      out(indent(readable(run.output.summary), "     │ "));
      const labels = sim.labelsOn(REPO, number);
      const requested = sim.requestedReviewers(REPO, number);
      out(
        `     labels: ${labels.join(", ") || "(none)"}${requested.users.length + requested.teams.length ? ` · reviewers requested: ${[...requested.teams.map((t) => `@acme/${t}`), ...requested.users.map((u) => `@${u}`)].join(", ")}` : ""}`,
      );
      out();
    };

    const docs = sim.openPullRequest({
      repo: REPO,
      author: { login: "Copilot", type: "Bot" },
      branch: "copilot/fix-setup-docs",
      title: "Fix the setup guide",
      files: [{ path: "docs/setup.md", content: "# Setup\n\nRun `npm ci`, then `npm test`.\n", additions: 2, deletions: 1 }],
    });
    await step("1. Copilot fixes a doc", docs.webhook, docs.pr.number);

    const migration = sim.openPullRequest({
      repo: REPO,
      author: { login: "alice", type: "User" },
      branch: "codex/add-orders-index",
      title: "Add an index on orders",
      files: [
        {
          path: "db/migrations/0002_orders_index.sql",
          content: "CREATE INDEX orders_user ON orders (user_id);\n",
          status: "added",
          additions: 1,
          deletions: 0,
        },
      ],
    });
    await step("2. Codex (opened by alice) adds a migration", migration.webhook, migration.pr.number);
    const approval = sim.review(REPO, migration.pr.number, { login: "dana", type: "User" }, "APPROVED", "Index looks right.");
    await step("   dana (acme/dba) approves", approval.webhook, migration.pr.number);

    const billing = sim.openPullRequest({
      repo: REPO,
      author: { login: "devin-ai-integration[bot]", type: "Bot" },
      branch: "devin/tax-rounding",
      title: "Round tax to cents",
      files: [
        {
          path: "src/billing/invoice.ts",
          content: "export const TAX = 0.2;\nexport const round = (n: number) => Math.round(n * 100) / 100;\n",
          additions: 1,
          deletions: 0,
        },
      ],
    });
    await step("3. Devin edits billing during the freeze", billing.webhook, billing.pr.number);

    const policy = sim.openPullRequest({
      repo: REPO,
      author: { login: "bob", type: "User" },
      branch: "claude/issue-12-20261124",
      title: "Relax the billing freeze",
      commitAuthors: [{ name: "Claude", email: "noreply@anthropic.com", login: "claude[bot]" }],
      files: [{ path: ".governance.yml", content: "version: 1\ndefault: allow\n", additions: 2, deletions: 24 }],
    });
    await step("4. Claude Code (for bob) edits the policy file itself", policy.webhook, policy.pr.number);

    const human = sim.openPullRequest({
      repo: REPO,
      author: { login: "octocat", type: "User" },
      branch: "feature/landing-page",
      title: "New landing page",
      files: [{ path: "src/web/landing.tsx", content: "export const Landing = () => null;\n", status: "added", additions: 1, deletions: 0 }],
    });
    await step("5. A human opens a PR", human.webhook, human.pr.number);

    out("── The audit trail:");
    printTrail(databasePath, out);
    out(
      `\nThe database is ${databasePath}. Go on with, for example (in the checkout, \`npx governor\`; elsewhere \`npx agent-governor\` or an installed \`governor\`):`,
    );
    out(`  governor audit list --db ${shownPath}`);
    out(`  governor audit show 3 --db ${shownPath}`);
    out(`  governor audit replay --all --db ${shownPath}`);
    out(`  governor audit export --format csv --db ${shownPath}`);

    if (opts.keepServing) {
      // A PR that exists on the simulator but whose webhook has not been sent: the user sends it, as GitHub would.
      const own = sim.openPullRequest({
        repo: REPO,
        author: { login: "Copilot", type: "Bot" },
        branch: "copilot/raise-tax",
        files: [{ path: "src/billing/invoice.ts", content: "export const TAX = 0.25;\n" }],
      });
      const payloadFile = join(mkdtempSync(join(tmpdir(), "governor-demo-")), "webhook.json");
      writeFileSync(payloadFile, JSON.stringify(own.webhook.payload));
      out(`\nServing until Ctrl-C.`);
      out(`webhook url: ${app.webhookUrl}`);
      out(`webhook secret: ${secret}`);
      out(`github api: ${sim.apiUrl}`);
      out(`payload file: ${payloadFile} (pull_request.opened for ${REPO}#${own.pr.number}: Copilot edits billing)`);
      out(`Send it, signed, the way GitHub does:`);
      out(`  sig=$(openssl dgst -sha256 -hmac ${secret} < ${payloadFile} | sed 's/^.* //')`);
      out(`  curl -s -X POST ${app.webhookUrl} -H 'content-type: application/json' -H 'x-github-event: pull_request' \\`);
      out(`       -H "x-github-delivery: $(cat /proc/sys/kernel/random/uuid)" -H "x-hub-signature-256: sha256=$sig" --data-binary @${payloadFile}`);
      out(`Then see the check it got: curl -s -H 'authorization: token demo' ${sim.apiUrl}/repos/${REPO}/commits/${own.pr.head.sha}/check-runs`);
      out(`and the audit trail: governor audit list --db ${shownPath}`);
      await new Promise<void>((done) => {
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
    }
    return 0;
  } catch (error) {
    ctx.err(`governor demo: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await app?.stop();
    await sim.close();
  }
}

/** The decisions, oldest first, and the hash chain's verdict: read from the library, as `governor audit` does. */
function printTrail(path: string, out: (s?: string) => void): void {
  const store = openAuditStore(path, { readonly: true });
  try {
    const rows = store.list({ limit: 50 }).reverse();
    const cells = rows.map((r) => [String(r.id), `${r.repo}#${r.pr}`, r.agent ?? "-", r.outcome, r.title]);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => (c[i] ?? "").length)));
    for (const c of cells) out(`  ${c.map((v, i) => (i < 4 ? v.padEnd(widths[i] ?? 0) : v)).join("  ")}`);
    const { rows: verified, broken } = store.verify();
    out(broken ? `  chain broken${broken.id !== null ? ` at row ${broken.id}` : ""}: ${broken.problem}` : `  chain intact: ${verified} rows verified`);
  } finally {
    store.close();
  }
}

export type { Simulator };
