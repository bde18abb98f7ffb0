import { describe, expect, it } from "vitest";
import { manifestSet, workspace } from "../../../test/helpers/manifests.js";
import { resultKey, type SmokeState } from "../kasm/smoke.js";
import type { UpdateSpec } from "../manifest/types.js";
import type { UpdateFinding } from "./finding.js";
import { type AutomationHistory, EMPTY_HISTORY } from "./history.js";
import { screenFindings } from "./screen.js";

const IMAGE = "reg:5000/kasm/chrome";
const D1 = `sha256:${"1".repeat(64)}`;
const DATED: UpdateSpec = { policy: "numerical", filter: { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" } };

const candidate = (tag: string): UpdateFinding => ({
  workspace: "chrome-testing",
  current: `${IMAGE}:20261201`,
  status: "candidate",
  image: `${IMAGE}:${tag}`,
  tag,
  previousTag: "20261201",
  digest: D1,
  considered: 3,
  listed: 4,
});
const reverted = (tag: string): AutomationHistory => ({
  ...EMPTY_HISTORY,
  revertedUpdates: new Map([
    ["chrome-testing", { commit: "deadbeef".repeat(5), image: `${IMAGE}:${tag}`, tag }],
  ]),
});
const failed = (digest: string, verdict: "pass" | "fail" = "fail"): SmokeState => ({
  results: {
    [resultKey("chrome-testing", digest)]: {
      digest,
      workspace: "chrome-testing",
      result: verdict,
      message: "container exited",
      startedAt: "2026-12-06T10:00:00.000Z",
      finishedAt: "2026-12-06T10:00:05.000Z",
      spec: "0123456789abcdef",
    },
  },
  pending: [],
});
const NONE: SmokeState = { results: {}, pending: [] };

describe("screenFindings", () => {
  it.each([
    [
      "nothing against it: proposed",
      DATED,
      candidate("20261206"),
      EMPTY_HISTORY,
      NONE,
      "candidate",
      undefined,
    ],
    [
      "update.suspend: held",
      { ...DATED, suspend: true },
      candidate("20261206"),
      EMPTY_HISTORY,
      NONE,
      "skipped",
      "suspended",
    ],
    [
      "the tag a person undid: not again",
      DATED,
      candidate("20261206"),
      reverted("20261206"),
      NONE,
      "skipped",
      "reverted",
    ],
    [
      "an older tag than the one undone: not either",
      DATED,
      candidate("20261203"),
      reverted("20261206"),
      NONE,
      "skipped",
      "reverted",
    ],
    [
      "a newer tag than the one undone: proposed",
      DATED,
      candidate("20261210"),
      reverted("20261206"),
      NONE,
      "candidate",
      undefined,
    ],
    [
      "its digest failed this Workspace's smoke test: held",
      DATED,
      candidate("20261206"),
      EMPTY_HISTORY,
      failed(D1),
      "skipped",
      "smoke-failed",
    ],
    [
      "another digest failed: proposed",
      DATED,
      candidate("20261206"),
      EMPTY_HISTORY,
      failed(`sha256:${"2".repeat(64)}`),
      "candidate",
      undefined,
    ],
    [
      "its digest passed: proposed",
      DATED,
      candidate("20261206"),
      EMPTY_HISTORY,
      failed(D1, "pass"),
      "candidate",
      undefined,
    ],
  ])("%s", (_, update, finding, history, smoke, status, reason) => {
    const set = manifestSet({
      workspaces: [workspace("chrome-testing", { image: `${IMAGE}:20261201`, registry: "lab", update })],
    });
    const [screened] = screenFindings([finding], set, history, smoke);
    expect(screened).toMatchObject({ status, tag: finding.status === "candidate" ? finding.tag : "" });
    if (reason) expect(screened).toMatchObject({ reason, detail: expect.any(String) });
  });

  it("leaves every other finding as it is", () => {
    const set = manifestSet({ workspaces: [] });
    const others: UpdateFinding[] = [
      { workspace: "a", current: "x", status: "up-to-date", newest: "1", considered: 1, listed: 2 },
      { workspace: "b", current: "x", status: "no-match", considered: 0, listed: 2 },
      { workspace: "c", current: "x", status: "error", code: "registry-error", error: "503" },
    ];
    expect(screenFindings(others, set, EMPTY_HISTORY, NONE)).toEqual(others);
  });
});
