import { describe, expect, it } from "vitest";
import type { Plan } from "../core/plan-types.js";
import type { ActionResult } from "../engine/executor.js";
import { applySummary, formatBytes } from "./progress.js";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [160, "160 B"],
    [1536, "1.5 kB"],
    [5 * 1024 * 1024, "5.0 MB"],
    [3.2 * 1024 ** 3, "3.2 GB"],
  ])("%d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe("applySummary with Kasm changes", () => {
  const update = {
    type: "kasm-update" as const,
    workspace: "chrome",
    imageId: "r1",
    reason: "changed" as const,
    changes: [],
    after: [0],
  };
  const plan = (blocked: Plan["blocked"] = [], incomplete = false): Plan => ({
    version: 1,
    revision: "r".repeat(40),
    branch: "main",
    actions: [],
    blocked,
    warnings: incomplete
      ? [{ code: "kasm-unreachable", message: "Kasm at https://kasm.test could not be read: 401" }]
      : [],
    unknown: incomplete
      ? [{ kind: "kasm", name: "kasm", reason: "kasm-unreachable", message: "could not be read: 401" }]
      : [],
    summary: {
      pull: 0,
      promote: 0,
      blocked: blocked.length,
      kasm: 1,
      unknown: incomplete ? 1 : 0,
      incomplete,
    },
  });
  const ok: ActionResult = { action: update, status: "ok", attempts: 1, durationMs: 5 };
  const held: ActionResult = {
    action: update,
    status: "skipped",
    attempts: 0,
    durationMs: 0,
    error: {
      code: "skipped",
      message: "held: the pull of x on a1 did not succeed (boom); users keep the current image",
    },
  };
  it.each([
    ["converged", [ok], plan(), ["Apply complete: 0 pulled, 1 Kasm change(s) made, 0 failed."]],
    [
      "a switch held after a failed pull",
      [held],
      plan(),
      [
        "Apply finished with failures: 0 pulled, 0 Kasm change(s) made, 1 failed.",
        "  ✗ kasm-update chrome: held: the pull of x",
      ],
    ],
    [
      "a group Kasm lacks",
      [ok],
      plan([
        {
          type: "kasm-group-add",
          workspace: "chrome",
          group: "testers",
          reason: "unknown-group",
          message: "Kasm has no group",
        },
      ]),
      [
        "Apply finished, not converged: 0 pulled, 1 Kasm change(s) made, 0 failed.",
        "  ! kasm-group-add chrome [unknown-group]: Kasm has no group",
      ],
    ],
    [
      "Kasm unread",
      [],
      plan([], true),
      [
        "Apply incomplete: 0 pulled, 0 failed.",
        "Not converged: 1 Kasm check failed (kasm: kasm-unreachable); fix the cause and apply again.",
      ],
    ],
  ] as const)("%s", (_name, results, p, expected) => {
    const text = applySummary([...results], p);
    for (const line of expected) expect(text).toContain(line);
  });
});
