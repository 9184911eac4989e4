// Prometheus metrics for an operator: deliveries, decisions, latencies and the inbox depth.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  received: Counter<"event">;
  deliveries: Counter<"result">;
  decisions: Counter<"outcome">;
  /** Failed deliveries Governor asked GitHub to redeliver (missed while it was down). */
  recovered: Counter;
  evaluationSeconds: Histogram;
  /** Decisions per audit transaction: group commit puts those finishing together in one (src/store/group-commit.ts). */
  auditCommitDecisions: Histogram;
  githubSeconds: Histogram<"route" | "status">;
}

export interface InboxView {
  depth(): Promise<number>;
  counts(): Promise<Record<string, number>>;
}

/** Budget use for /metrics: each agent's PRs over the last 24 hours in its busiest repository and org. */
export interface BudgetView {
  prsLastDay(): Promise<Array<{ agent: string; scope: "repo" | "org"; prs: number }>>;
}

export function createMetrics(inbox: InboxView, budgets?: BudgetView): Metrics {
  const registry = new Registry();
  const metrics: Metrics = {
    registry,
    received: new Counter({
      name: "governor_deliveries_received_total",
      help: "Webhook deliveries received with a valid signature",
      labelNames: ["event"],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "governor_deliveries_total",
      help: "Deliveries handled since start, by result: evaluated, failed, duplicate, ignored, rejected",
      labelNames: ["result"],
      registers: [registry],
    }),
    recovered: new Counter({
      name: "governor_deliveries_recovered_total",
      help: "Failed webhook deliveries Governor asked GitHub to redeliver",
      registers: [registry],
    }),
    decisions: new Counter({
      name: "governor_decisions_total",
      help: "Decisions written to the audit trail, by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    evaluationSeconds: new Histogram({
      name: "governor_evaluation_seconds",
      help: "Time from claiming a delivery to its reported check",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    auditCommitDecisions: new Histogram({
      name: "governor_audit_commit_decisions",
      help: "Decisions written per audit transaction (decisions finishing together share one); _count is the transactions",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    githubSeconds: new Histogram({
      name: "governor_github_request_seconds",
      help: "GitHub API request latency",
      labelNames: ["route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
  new Gauge({
    name: "governor_inbox_depth",
    help: "Deliveries queued or being evaluated",
    registers: [registry],
    async collect() {
      this.set(await inbox.depth());
    },
  });
  new Gauge({
    name: "governor_inbox_deliveries",
    help: "Deliveries in the inbox by status (done, superseded, failed, ignored, queued, processing)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      for (const [status, n] of Object.entries(await inbox.counts())) this.set({ status }, n);
    },
  });
  if (budgets) {
    // Labels are the agent and the scope kind only (never a repository or org name), so cardinality stays bounded.
    new Gauge({
      name: "governor_budget_prs_24h",
      help: "Each agent's PRs over the last 24 hours in its busiest repository (scope=repo) and org (scope=org), as counted by its budget",
      labelNames: ["agent", "scope"],
      registers: [registry],
      async collect() {
        const peaks = await budgets.prsLastDay();
        this.reset();
        for (const u of peaks) this.set({ agent: u.agent, scope: u.scope }, u.prs);
      },
    });
  }
  return metrics;
}
