import { describe, expect, it } from "vitest";
import {
  type AutomationReport,
  type AutomationView,
  automationFeed,
  followGit,
  type ProposalReport,
  reduceAutomation,
  type UpdateCheck,
} from "./automation-view.js";

const T0 = "2026-12-07T10:00:00.000Z";
const T1 = "2026-12-07T10:15:00.000Z";
const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const C = "c".repeat(40);

const pushed: ProposalReport = {
  image: `${IMAGE}:20261206`,
  tag: "20261206",
  digest: D2,
  previous: `${IMAGE}:20261201`,
  previousTag: "20261201",
  previousDigest: D1,
  status: "pushed",
  commit: C,
  branch: "main",
};
const candidate: UpdateCheck = {
  workspace: "chrome-testing",
  image: `${IMAGE}:20261201`,
  inGitTag: "20261201",
  status: "candidate",
  tag: "20261206",
  digest: D2,
  considered: 2,
};
/** The candidate's check as the view keeps it, under its Workspace's name. */
const { workspace: _, ...checked } = candidate;
const update = (...checks: UpdateCheck[]): AutomationReport => ({
  kind: "update",
  schedule: "*/15 * * * *",
  checks,
});

describe("reduceAutomation", () => {
  it.each<[string, AutomationReport[], (v: AutomationView) => unknown, unknown]>([
    [
      "a candidate pushed: the check and the proposal, stamped",
      [update({ ...candidate, proposal: pushed })],
      (v) => v.updates["chrome-testing"],
      {
        ...checked,
        checkedAt: T0,
        result: "ok",
        schedule: "*/15 * * * *",
        lastProposal: { ...pushed, kind: "update", at: T0 },
      },
    ],
    [
      "a later check without a proposal keeps the last one",
      [
        update({ ...candidate, proposal: pushed }),
        update({
          workspace: "chrome-testing",
          image: `${IMAGE}:20261206`,
          status: "up-to-date",
          newest: "20261206",
        }),
      ],
      (v) => [v.updates["chrome-testing"]?.status, v.updates["chrome-testing"]?.lastProposal?.commit],
      ["up-to-date", C],
    ],
    [
      "a failed check is an error result with its message",
      [update({ workspace: "w", image: "r/w:1", status: "error", code: "registry-error", error: "502" })],
      (v) => [v.updates.w?.result, v.updates.w?.error],
      ["error", "502"],
    ],
    [
      "a status this view does not know is kept as it came, an ok check",
      [
        update({
          workspace: "w",
          image: "r/w:1",
          status: "skipped",
          reason: "reverted",
          tag: "2",
          digest: D2,
        }),
      ],
      (v) => [v.updates.w?.status, v.updates.w?.reason, v.updates.w?.tag, v.updates.w?.result],
      ["skipped", "reverted", "2", "ok"],
    ],
    [
      "a pass of another schedule leaves the other Workspaces",
      [
        update({ ...candidate }),
        { kind: "update", schedule: "0 * * * *", checks: [{ ...candidate, workspace: "b" }] },
      ],
      (v) => Object.keys(v.updates),
      ["chrome-testing", "b"],
    ],
    [
      "a pass that failed as a whole: the last error, the Workspaces as they were",
      [update(candidate), { kind: "update", schedule: "x", checks: { error: "git fetch failed" } }],
      (v) => [v.lastError, Object.keys(v.updates)],
      [{ at: T0, kind: "update", message: "git fetch failed" }, ["chrome-testing"]],
    ],
    [
      "a promotion pass replaces the list and keeps each remaining Workspace's last proposal",
      [
        {
          kind: "promote",
          checks: [
            { workspace: "chrome", from: "chrome-testing", status: "due", digest: D2, proposal: pushed },
            { workspace: "gone", from: "t", status: "waiting", reason: "smoke-missing" },
          ],
        },
        {
          kind: "promote",
          checks: [
            { workspace: "chrome", from: "chrome-testing", status: "waiting", reason: "already-proposed" },
          ],
        },
      ],
      (v) => [
        Object.keys(v.promotions),
        v.promotions.chrome?.reason,
        v.promotions.chrome?.lastProposal?.kind,
      ],
      [["chrome"], "already-proposed", "promote"],
    ],
  ])("%s", (_, reports, pick, expected) => {
    let view: AutomationView | undefined;
    for (const report of reports) view = reduceAutomation(view, report, T0);
    expect(pick(view!)).toEqual(expected);
  });

  it("never mutates the view it was given", () => {
    const before = reduceAutomation(undefined, update(candidate), T0);
    const copy = structuredClone(before);
    reduceAutomation(before, update({ ...candidate, status: "up-to-date", proposal: pushed }), T1);
    expect(before).toEqual(copy);
  });
});

describe("automationFeed", () => {
  it.each<[string, AutomationReport, string[]]>([
    [
      "a pushed update",
      update({ ...candidate, proposal: pushed }),
      ["info update pushed: chrome-testing 20261201 → 20261206 on main (cccccccccccc)"],
    ],
    [
      "an update already on the tip, or its branch already pushed: nothing new",
      update(
        { ...candidate, proposal: { ...pushed, status: "unchanged" } },
        { ...candidate, proposal: { ...pushed, status: "branch-exists" } },
      ),
      [],
    ],
    [
      "a refused push",
      update({ ...candidate, proposal: { ...pushed, status: "refused", message: "protected branch" } }),
      ["error update push refused twice (main): chrome-testing 20261201 → 20261206: protected branch"],
    ],
    [
      "a failed check",
      update({ workspace: "w", image: "r/w:1", status: "error", error: "401" }),
      ["warn update check of w failed: 401"],
    ],
    [
      "a promotion the promote checks refused waits (warn); a Git failure is an error",
      {
        kind: "promote",
        checks: [
          {
            workspace: "a",
            from: "t",
            status: "due",
            proposal: { ...pushed, status: "error", code: "not-verified", message: "never pulled" },
          },
          {
            workspace: "b",
            from: "t",
            status: "due",
            proposal: { ...pushed, status: "error", code: "git-failed", message: "no route" },
          },
        ],
      },
      [
        "warn promotion not written: a 20261201 → 20261206: never pulled",
        "error promotion not written: b 20261201 → 20261206: no route",
      ],
    ],
    [
      "a pass that failed",
      { kind: "promote", checks: { error: "state dir" } },
      ["error auto-promotion failed: state dir"],
    ],
  ])("%s", (_, report, lines) => {
    expect(automationFeed(report, T0).map((e) => `${e.level} ${e.message}`)).toEqual(lines);
  });
});

describe("followGit", () => {
  const view = reduceAutomation(
    reduceAutomation(undefined, update(candidate), T0),
    {
      kind: "promote",
      checks: [
        {
          workspace: "chrome",
          from: "chrome-testing",
          status: "waiting",
          reason: "smoke-missing",
          image: `${IMAGE}:1`,
        },
      ],
    },
    T0,
  );
  it.each<
    [string, { name: string; image: string }[], [string | undefined, string | undefined, string | undefined]]
  >([
    [
      "the update reconciled: in Git moves to the new tag",
      [{ name: "chrome-testing", image: `${IMAGE}:20261206` }],
      [`${IMAGE}:20261206`, "20261206", `${IMAGE}:1`],
    ],
    [
      "a promotion merged",
      [{ name: "chrome", image: `${IMAGE}:20261206` }],
      [`${IMAGE}:20261201`, "20261201", `${IMAGE}:20261206`],
    ],
    [
      "a digest-only image in Git: no tag",
      [{ name: "chrome-testing", image: `${IMAGE}@${D2}` }],
      [`${IMAGE}@${D2}`, undefined, `${IMAGE}:1`],
    ],
  ])("%s", (_, workspaces, [image, tag, promoted]) => {
    const next = followGit(view, workspaces);
    expect([
      next.updates["chrome-testing"]?.image,
      next.updates["chrome-testing"]?.inGitTag,
      next.promotions.chrome?.image,
    ]).toEqual([image, tag, promoted]);
    expect(next.updates["chrome-testing"]?.status).toBe("candidate");
  });

  it.each([
    [
      "the same image, spelled as the plan does (canonical)",
      [{ name: "chrome-testing", image: `${IMAGE}:20261201` }],
    ],
    ["a Workspace the plan does not name", [{ name: "other", image: "r/x:1" }]],
  ])("nothing moved (%s): the same view", (_, workspaces) => {
    expect(followGit(view, workspaces)).toBe(view);
  });

  it("compares references as the plan spells them: a Docker Hub short name is not a move", () => {
    const hub = reduceAutomation(undefined, update({ ...candidate, image: "kasm/chrome:1" }), T0);
    expect(followGit(hub, [{ name: "chrome-testing", image: "docker.io/kasm/chrome:1" }])).toBe(hub);
  });
});
