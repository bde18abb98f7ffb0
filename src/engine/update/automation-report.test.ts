import { describe, expect, it } from "vitest";
import type { NotificationEvent } from "../../core/notification.js";
import type { Metrics } from "../../ports.js";
import { type DaemonStatus, initialStatus, reduceStatus, type StatusEvent } from "../status.js";
import type { AutoPromotionOutcome } from "./auto-promote.js";
import { createAutomationReporter, promotionCheckOf, updateCheckOf } from "./automation-report.js";
import type { UpdateOutcome } from "./run-updates.js";

const AT = new Date("2026-12-07T10:00:00.000Z");
const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const C = "c".repeat(40);
const finding = {
  workspace: "chrome-testing",
  current: `${IMAGE}:20261201`,
  status: "candidate" as const,
  image: `${IMAGE}:20261206`,
  tag: "20261206",
  previousTag: "20261201",
  digest: D2,
  previousDigest: D1,
  considered: 2,
  listed: 3,
};
const pushedOn = (branch: string) => ({
  status: "pushed" as const,
  commit: C,
  branch,
  attempts: 1,
  file: "a.yaml",
});
const outcome = (result?: UpdateOutcome["result"], error?: UpdateOutcome["error"]): UpdateOutcome => ({
  finding,
  ...(result ? { result } : {}),
  ...(error ? { error } : {}),
});

describe("updateCheckOf", () => {
  it.each<[string, UpdateOutcome, object]>([
    [
      "pushed on the followed branch",
      outcome(pushedOn("main")),
      {
        status: "candidate",
        tag: "20261206",
        proposal: {
          status: "pushed",
          commit: C,
          branch: "main",
          previousTag: "20261201",
          previousDigest: D1,
        },
      },
    ],
    [
      "its branch already pushed",
      outcome({ status: "branch-exists", branch: "b" }),
      { proposal: { status: "branch-exists", branch: "b" } },
    ],
    [
      "the tip already has it",
      outcome({ status: "unchanged", tip: C }),
      { proposal: { status: "unchanged", commit: C, branch: "main" } },
    ],
    [
      "refused twice",
      outcome({ status: "refused", branch: "main", attempts: 2, reason: "hook" }),
      { proposal: { status: "refused", branch: "main", message: "hook" } },
    ],
    [
      "not written",
      outcome(undefined, { code: "git-failed", message: "no route" }),
      { proposal: { status: "error", code: "git-failed", message: "no route" } },
    ],
    [
      "up to date",
      {
        finding: {
          workspace: "w",
          current: "r/w:3",
          status: "up-to-date",
          newest: "3",
          considered: 3,
          listed: 4,
        },
      },
      { workspace: "w", image: "r/w:3", inGitTag: "3", status: "up-to-date", newest: "3", considered: 3 },
    ],
    [
      "a failed check",
      {
        finding: { workspace: "w", current: "r/w:1", status: "error", code: "registry-error", error: "502" },
      },
      { status: "error", code: "registry-error", error: "502" },
    ],
    [
      "a status of its own (skipped): its reason, tag, digest and listed count kept",
      {
        finding: {
          workspace: "w",
          current: "r/w:1",
          status: "skipped",
          reason: "reverted",
          tag: "2",
          digest: D2,
          listed: 9,
        },
      } as unknown as UpdateOutcome,
      { status: "skipped", reason: "reverted", tag: "2", digest: D2, listed: 9 },
    ],
  ])("%s", (_, o, expected) => {
    const check = updateCheckOf(o, "main");
    expect(check).toMatchObject(expected);
    if (o.finding.status !== "candidate") expect(check.proposal).toBeUndefined();
  });
});

const due = (
  result?: AutoPromotionOutcome["result"],
  error?: AutoPromotionOutcome["error"],
): AutoPromotionOutcome => ({
  decision: {
    workspace: "chrome",
    from: "chrome-testing",
    current: `${IMAGE}:20261201`,
    status: "due",
    digest: D2,
    image: `${IMAGE}:20261206`,
  },
  ...(result ? { result } : {}),
  ...(error ? { error } : {}),
});

describe("promotionCheckOf", () => {
  it.each<[string, AutoPromotionOutcome, object]>([
    [
      "due and pushed, from the image in Git",
      due(pushedOn("kasm-gitops/promote/chrome/20261206")),
      {
        status: "due",
        image: `${IMAGE}:20261201`,
        proposal: { tag: "20261206", previousTag: "20261201", status: "pushed" },
      },
    ],
    [
      "waiting, and why",
      {
        decision: {
          workspace: "chrome",
          from: "t",
          current: `${IMAGE}:20261201`,
          status: "waiting",
          reason: "smoke-failed",
          digest: D1,
        },
      },
      { status: "waiting", reason: "smoke-failed", digest: D1 },
    ],
  ])("%s", (_, o, expected) => {
    expect(promotionCheckOf(o, "main")).toMatchObject(expected);
  });
});

/** The reporter on fake ports: status through the real reducer, metrics and notifications recorded. */
function reporter() {
  let status: DaemonStatus = initialStatus("main");
  status = {
    ...status,
    fleet: {
      at: "",
      revision: "",
      workspaces: [{ name: "chrome", image: `${IMAGE}:20261201`, enabled: true }],
      agents: [],
      cells: {},
      promotions: [],
    },
  };
  const metrics: string[] = [];
  const notified: NotificationEvent[] = [];
  const recorder = new Proxy({} as Metrics, {
    get:
      (_, name: string) =>
      (...args: unknown[]) =>
        metrics.push(`${name} ${args.join(" ")}`),
  });
  const r = createAutomationReporter({
    record: (event: StatusEvent) => {
      status = reduceStatus(status, event);
    },
    status: () => status,
    metrics: recorder,
    notify: (event) => notified.push(event),
    clock: { now: () => AT, sleep: async () => {} },
    branch: "main",
  });
  return { r, metrics, notified, status: () => status };
}

describe("createAutomationReporter", () => {
  it.each<[string, UpdateOutcome[] | { error: string }, string[], string[]]>([
    [
      "pushed on the followed branch: counted, no candidate waits, one notification keyed by the commit",
      [outcome(pushedOn("main"))],
      [
        "updateChecked ok",
        "setUpdateCandidate chrome-testing ",
        "automationProposal chrome-testing update pushed",
      ],
      [
        `update-proposed ${C} main chrome-testing 20261201 → 20261206 (sha256:111111111111 → sha256:222222222222): commit cccccccccccc on main`,
      ],
    ],
    [
      "pushed on a branch for a merge request: the candidate waits",
      [outcome(pushedOn("kasm-gitops/update/chrome-testing/20261206"))],
      [
        "updateChecked ok",
        "setUpdateCandidate chrome-testing 20261206",
        "automationProposal chrome-testing update pushed",
      ],
      [
        `update-proposed ${C} kasm-gitops/update/chrome-testing/20261206 chrome-testing 20261201 → 20261206 (sha256:111111111111 → sha256:222222222222): commit cccccccccccc on kasm-gitops/update/chrome-testing/20261206`,
      ],
    ],
    [
      "branch already pushed: no notification",
      [outcome({ status: "branch-exists", branch: "b" })],
      [
        "updateChecked ok",
        "setUpdateCandidate chrome-testing 20261206",
        "automationProposal chrome-testing update branch-exists",
      ],
      [],
    ],
    [
      "a failed check leaves the candidate gauge as it was",
      [{ finding: { workspace: "w", current: "r/w:1", status: "error", code: "x", error: "502" } }],
      ["updateChecked error"],
      [],
    ],
    ["a pass that failed", { error: "boom" }, ["updateChecked error"], []],
  ])("%s", (_, outcomes, metrics, notified) => {
    const f = reporter();
    f.r.updates(outcomes, "0 * * * *");
    expect(f.metrics).toEqual(metrics);
    expect(f.notified.map((n) => `${n.event} ${n.revision} ${n.branch} ${n.message}`)).toEqual(notified);
    expect(f.status().automation).toBeDefined();
  });

  it("promotions: a pushed one notifies naming where it was smoke-tested; a refused check counts as blocked", () => {
    const f = reporter();
    f.r.promotions([
      due(pushedOn("main")),
      {
        ...due(undefined, { code: "smoke-failed", message: "no" }),
        decision: { ...due().decision, workspace: "firefox" },
      },
    ]);
    expect(f.metrics).toEqual([
      "automationProposal chrome promote pushed",
      "automationProposal firefox promote blocked",
    ]);
    expect(f.notified).toHaveLength(1);
    expect(f.notified[0]).toMatchObject({
      event: "promotion-proposed",
      revision: C,
      message: `chrome 20261201 → 20261206 (sha256:222222222222, smoke-tested on chrome-testing): commit cccccccccccc on main`,
      details: { workspace: "chrome", from: "chrome-testing", previous: `${IMAGE}:20261201`, commit: C },
    });
    const view = f.status().automation!;
    expect(view.promotions.chrome?.lastProposal).toMatchObject({
      kind: "promote",
      status: "pushed",
      at: AT.toISOString(),
    });
    expect(f.status().events.map((e) => e.message)).toContain(
      "promotion pushed: chrome 20261201 → 20261206 on main (cccccccccccc)",
    );
  });

  it("an empty promotion pass on a fleet without promotion.auto leaves the status object alone", () => {
    const f = reporter();
    const before = f.status();
    f.r.promotions([]);
    expect(f.status()).toBe(before);
  });
});
