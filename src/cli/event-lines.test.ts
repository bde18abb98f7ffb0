import { describe, expect, it } from "vitest";
import type { Action, PullAction } from "../core/plan/types.js";
import type { ExecutorEvent } from "../engine/executor.js";
import { describeAction, eventLines, formatDuration, startReason } from "./event-lines.js";

const pull: PullAction = {
  type: "pull",
  agent: "a1",
  image: "reg:5000/app:v1",
  workspaces: ["app"],
  reason: "missing",
};
const D = `sha256:${"d".repeat(64)}`;

describe("eventLines", () => {
  it.each<[string, ExecutorEvent[], string[]]>([
    [
      "start",
      [{ type: "start", action: pull, attempt: 1, inFlight: 1, queued: 0 }],
      ["start   pull a1 reg:5000/app:v1 (missing)"],
    ],
    [
      "retry names the next attempt, its delay and the error",
      [{ type: "retry", action: pull, attempt: 1, delayMs: 1200, error: "HTTP 503" }],
      ["retry   pull a1 reg:5000/app:v1: attempt 2 in 1.2s after: HTTP 503"],
    ],
    [
      "progress folds into the done line",
      [
        {
          type: "progress",
          action: pull,
          progress: { layersDone: 0, layersTotal: 1, bytesDone: 10, bytesTotal: 2048 },
        },
        { type: "done", result: { action: pull, status: "ok", durationMs: 12_300, attempts: 1, digest: D } },
      ],
      ["done    pull a1 reg:5000/app:v1 in 12s, 2.0 kB → sha256:dddddddddddd"],
    ],
    [
      "failed with attempts and reason",
      [
        {
          type: "done",
          result: {
            action: pull,
            status: "failed",
            durationMs: 5,
            attempts: 4,
            error: { code: "x", message: "HTTP 500" },
          },
        },
      ],
      ["failed  pull a1 reg:5000/app:v1 after 4 attempts: HTTP 500"],
    ],
    [
      "skipped",
      [
        {
          type: "done",
          result: {
            action: pull,
            status: "skipped",
            durationMs: 0,
            attempts: 0,
            error: { code: "skipped", message: "stopping" },
          },
        },
      ],
      ["skipped pull a1 reg:5000/app:v1: stopping"],
    ],
  ])("%s", (_, events, expected) => {
    const out: string[] = [];
    const on = eventLines((line) => out.push(line));
    for (const e of events) on(e);
    expect(out.join("").trimEnd().split("\n")).toEqual(expected);
  });

  it.each<[Action, string]>([
    [pull, "missing"],
    [
      { type: "promote", image: "r/app:latest", workspace: "app", source: "r/app:v1", targetDigest: D },
      "moving tag",
    ],
    [
      { type: "kasm-create", workspace: "app", after: [0], record: { name: "r/app:v1" } as never },
      "new record for r/app:v1",
    ],
    [
      { type: "kasm-update", workspace: "app", imageId: "i1", reason: "drift", changes: [], after: [] },
      "drift record i1",
    ],
    [
      {
        type: "kasm-update",
        workspace: "app",
        imageId: "i1",
        reason: "changed",
        changes: [],
        after: [],
        adopt: true,
      },
      "adopt record i1",
    ],
    [{ type: "kasm-disable", workspace: "app", imageId: "i1" }, "record i1: its Workspace left Git"],
    [{ type: "kasm-delete", workspace: "app", imageId: "i1" }, "record i1: its Workspace left Git"],
    [
      { type: "kasm-group-add", workspace: "app", group: "qa", groupId: "g1", after: [] },
      "assigned in Git, not yet in Kasm",
    ],
    [
      { type: "kasm-group-remove", workspace: "app", group: "qa", groupId: "g1", imageId: "i1", after: [] },
      "assigned in Kasm, not in Git",
    ],
    [
      {
        type: "remove",
        agent: "a1",
        image: "r/old:v0",
        id: "sha256:1",
        bytes: 1,
        reason: "unused",
        tags: [],
      },
      "unused",
    ],
  ])("the start line of %s says why it runs: (%s), a moving tag only for a promotion", (action, reason) => {
    const out: string[] = [];
    eventLines((line) => out.push(line))({ type: "start", action, attempt: 1, inFlight: 1, queued: 0 });
    expect(startReason(action)).toBe(reason);
    expect(out).toEqual([`start   ${describeAction(action)} (${reason})\n`]);
  });

  it.each([
    [400, "0.4s"],
    [12_300, "12s"],
    [185_000, "3m05s"],
  ])("formatDuration(%i) = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
