// The evaluator states what it needs to decide (src/policy/needs.ts), as data, one need at a time and each once; a
// change source reads exactly that. Driven through gatherChange with a source that records what it was asked.
import { describe, expect, it } from "vitest";
import { gatherChange } from "../../src/change/gather.js";
import type { ChangeSource, NeedKind } from "../../src/policy/needs.js";
import { nextNeed } from "../../src/policy/needs.js";
import { decide } from "../../src/policy/decide.js";
import { EvaluationInputSchema } from "../../src/policy/input.js";
import { approval, file, input } from "../helpers/policy.js";

const POLICY = `version: 1
scope: agents
classes:
  docs: ["docs/**"]
  migrations: ["db/**"]
rules:
  - id: docs
    match: { classes: [docs] }
    action: allow
  - id: dba
    match: { classes: [migrations] }
    action: require_approval
    approvers: { teams: [acme/dba], count: 1 }
default: deny
`;

/** A source answering from fixed data, recording every call. */
function recording(o: { files: string[]; commitAuthors?: string[]; reviews?: ReturnType<typeof approval>[]; members?: string[] }) {
  const asked: string[] = [];
  const source: ChangeSource = {
    commits: () => (asked.push("commits"), Promise.resolve({ authors: o.commitAuthors ?? [], contributors: [] })),
    files: () => (asked.push("files"), Promise.resolve(o.files.map((f) => file(f)))),
    reviews: () => (asked.push("reviews"), Promise.resolve(o.reviews ?? [])),
    teamMembers: (teams, logins) => {
      asked.push(`team_members ${teams.join(",")} ${logins.join(",")}`);
      return Promise.resolve(Object.fromEntries(teams.map((t) => [t, logins.filter((l) => (o.members ?? []).includes(l))])));
    },
  };
  return { source, asked };
}

async function gather(author: { login: string; type: string }, o: Parameters<typeof recording>[0]) {
  const base = input({ policy: POLICY, files: [], change: { author, head_branch: author.type === "Bot" ? "copilot/fix-7" : "feature/x" } });
  const { source, asked } = recording(o);
  const budgets: string[][] = [];
  const result = await gatherChange(
    { policies: base.policies, change: { ...base.change }, context: { now: base.context.now, usage: { prs_today: 1, prs_by_agent: {} } } },
    source,
    (need) => (budgets.push(need.agents), Promise.resolve({ prs_by_agent: Object.fromEntries(need.agents.map((a) => [a, 1])) })),
  );
  return { ...result, asked, budgets };
}

const human = { login: "mona", type: "User" };
const copilot = { login: "Copilot", type: "Bot" };

describe("what the evaluator needs, and nothing more", () => {
  it("asks a human's change only for its commits, and decides it is not governed without its files", async () => {
    const r = await gather(human, { files: ["docs/a.md"] });
    expect(r.asked).toEqual(["commits"]);
    expect(r.input.change.files).toEqual([]);
  });

  it("governs a human's change whose commits carry an agent's co-author, and then asks for its files", async () => {
    const r = await gather(human, { files: ["docs/a.md"], commitAuthors: ["noreply@anthropic.com"] });
    expect(r.asked).toEqual(["commits", "files"]);
    expect(r.budgets).toEqual([["claude"]]);
  });

  it("asks an agent's change for commits, files and its budget place, and for no reviews when nothing is gated", async () => {
    const r = await gather(copilot, { files: ["docs/a.md"], reviews: [approval("dana")] });
    expect(r.read).toEqual(["commits", "files", "budget"]);
    expect(r.input.change.reviews).toEqual([]);
  });

  it("asks for reviews when a gate exists, then for team membership of only the reviewers whose verdict can count", async () => {
    const r = await gather(copilot, {
      files: ["db/1.sql"],
      reviews: [approval("dana"), approval("Copilot", { type: "Bot" }), approval("renovate[bot]", { type: "Bot" }), approval("sam", { state: "COMMENTED" })],
      members: ["dana"],
    });
    expect(r.asked).toEqual(["commits", "files", "reviews", "team_members acme/dba dana"]);
    expect(r.input.change.team_members).toEqual({ "acme/dba": ["dana"] });
  });

  it("returns with the input the decision it makes, as decide gives it, for every outcome on the way", async () => {
    const cases: Array<[typeof human, Parameters<typeof recording>[0]]> = [
      [human, { files: ["docs/a.md"] }],
      [copilot, { files: ["docs/a.md"] }],
      [copilot, { files: ["db/1.sql"], reviews: [approval("dana")], members: ["dana"] }],
      [copilot, { files: ["src/app.ts"] }],
    ];
    for (const [author, o] of cases) {
      const r = await gather(author, o);
      expect(r.decision).toEqual(decide(r.input));
    }
  });

  it("gives the input that parsing the whole of what was read would give, defaults included", async () => {
    const reviews = [approval("dana")];
    const r = await gather(copilot, { files: ["db/1.sql"], reviews, members: ["dana"] });
    const base = input({ policy: POLICY, files: [], change: { author: copilot, head_branch: "copilot/fix-7" } });
    const whole = EvaluationInputSchema.parse({
      policies: base.policies,
      change: { ...base.change, commit_authors: [], contributors: [], files: [file("db/1.sql")], reviews, team_members: { "acme/dba": ["dana"] } },
      context: { now: base.context.now, usage: { prs_today: 1, prs_by_agent: { copilot: 1 } } },
    });
    expect(r.input).toEqual(whole);
  });

  it("refuses an answer that does not fit its part of the input, as parsing the whole input would", async () => {
    const base = input({ policy: POLICY, files: [], change: { author: copilot, head_branch: "copilot/fix-7" } });
    const { source } = recording({ files: [] });
    source.files = () => Promise.resolve([{ ...file("docs/a.md"), additions: -1 }]);
    await expect(
      gatherChange({ policies: base.policies, change: { ...base.change }, context: { now: base.context.now, usage: { prs_today: 1 } } }, source, () =>
        Promise.resolve({}),
      ),
    ).rejects.toThrow(/additions/);
  });

  it("asks for nothing when the policy cannot be read: the decision is an error as it is", () => {
    const bad = input({ policy: "version: 1\nrules: [{ id: x }]\n", files: [] });
    expect(nextNeed(bad, new Set<NeedKind>())).toBeNull();
  });
});
