import { describe, expect, it } from "vitest";
import type { PullAction, RemoveAction } from "../core/plan/types.js";
import type { FleetView } from "../core/status/fleet-view.js";
import { FEED_LENGTH } from "../core/status/status-view.js";
import type { ActionResult } from "./executor.js";
import { type DaemonStatus, initialStatus, reduceStatus, type StatusEvent } from "./status.js";

const T = new Date("2026-11-27T10:00:00.000Z");
const D = `sha256:${"d".repeat(64)}`;
const IMAGE = "r.test/app:1.0";
const fleet = (state: "pending" | "held" = "pending"): FleetView => ({
  at: T.toISOString(),
  revision: "r",
  workspaces: [{ name: "app", image: IMAGE, enabled: true }],
  agents: [{ name: "a1", labels: {}, enabled: true }],
  cells: {
    a1: { app: { state, image: IMAGE, ...(state === "pending" ? { why: "missing on the agent" } : {}) } },
  },
  promotions: [{ workspace: "app-prod", from: "app", movingTags: ["latest"], state: "pending", digest: D }],
  kasmRecords: { app: { state: "drift", fields: ["cores"] } },
});
const pull: PullAction = {
  type: "pull",
  agent: "a1",
  image: IMAGE,
  workspaces: ["app"],
  reason: "missing",
  targetDigest: D,
};
const removal: RemoveAction = {
  type: "remove",
  agent: "a1",
  image: "r.test/old:1",
  id: "sha256:1",
  bytes: 5e6,
  reason: "unused",
  tags: [],
};
const result = (
  action: ActionResult["action"],
  status: ActionResult["status"],
  error?: string,
): ActionResult => ({
  action,
  status,
  durationMs: 1,
  attempts: 1,
  ...(status === "ok" && action.type === "pull" ? { digest: D } : {}),
  ...(error ? { error: { code: "x", message: error } } : {}),
});
const planned: StatusEvent = { type: "fleet-planned", fleet: fleet() };
const executor = (event: Extract<StatusEvent, { type: "executor" }>["event"]): StatusEvent => ({
  type: "executor",
  event,
  at: T,
});
const done = (r: ActionResult) => executor({ type: "done", result: r });
const run = (...events: StatusEvent[]) => events.reduce(reduceStatus, initialStatus("main"));
const cell = (s: DaemonStatus) => s.fleet?.cells.a1?.app;

describe("the status page's fleet in the reducer", () => {
  it.each<[string, StatusEvent[], object]>([
    ["planned: pending", [planned], { state: "pending", why: "missing on the agent" }],
    [
      "started: pulling from zero",
      [planned, executor({ type: "start", action: pull, attempt: 1, inFlight: 1, queued: 0 })],
      { state: "pulling", progress: { bytesDone: 0 } },
    ],
    [
      "progress: the bytes so far",
      [
        planned,
        executor({
          type: "progress",
          action: pull,
          progress: { layersDone: 1, layersTotal: 2, bytesDone: 50, bytesTotal: 100 },
        }),
      ],
      { state: "pulling", progress: { bytesDone: 50, bytesTotal: 100, layersDone: 1, layersTotal: 2 } },
    ],
    ["done: held at the pulled digest", [planned, done(result(pull, "ok"))], { state: "held", digest: D }],
    [
      "failed: with the error",
      [planned, done(result(pull, "failed", "manifest unknown"))],
      { state: "failed", why: "manifest unknown" },
    ],
    [
      "failed, then planned again: still failed with the error until the retry starts",
      [planned, done(result(pull, "failed", "manifest unknown")), planned],
      { state: "failed", why: "manifest unknown" },
    ],
    [
      "the retry starts: pulling, naming the last failure",
      [
        planned,
        done(result(pull, "failed", "404")),
        planned,
        executor({ type: "start", action: pull, attempt: 1, inFlight: 1, queued: 0 }),
      ],
      { state: "pulling", why: "retrying; last: 404" },
    ],
    [
      "a pull of another image of the workspace does not hide a failure",
      [
        planned,
        done(result(pull, "failed", "404")),
        done(result({ ...pull, image: "r.test/app:latest" }, "ok")),
      ],
      { state: "failed", image: IMAGE },
    ],
  ])("%s", (_, events, expected) => {
    expect(cell(run(...events))).toMatchObject(expected);
  });

  it("marks promotions and Kasm records done from the executor's results, and keeps them across the next plan", () => {
    const promote = {
      type: "promote" as const,
      image: "r.test/app:latest",
      workspace: "app-prod",
      source: IMAGE,
      targetDigest: D,
    };
    const update = {
      type: "kasm-update" as const,
      workspace: "app",
      imageId: "i1",
      reason: "drift" as const,
      changes: [{ field: "cores" as const, from: 1, to: 2 }],
      after: [],
    };
    const next = fleet("held");
    const replanned: FleetView = {
      ...next,
      promotions: [{ ...next.promotions[0]!, state: "done", digest: undefined } as never],
      kasmRecords: { app: { state: "in-sync" } },
    };
    const s = run(planned, done(result(promote, "ok")), done(result(update, "ok")), {
      type: "fleet-planned",
      fleet: replanned,
    });
    expect(s.fleet?.promotions[0]).toMatchObject({ state: "done", digest: D });
    expect(s.fleet?.kasmRecords?.app).toEqual({ state: "repaired", fields: ["cores"] });
    expect(s.events.map((e) => e.message)).toEqual([
      expect.stringMatching(/^promoted r\.test\/app:latest to d{12}/),
      "kasm-update of workspace app done",
    ]);
  });

  it("counts one cycle's removals per agent and starts again with the next cycle", () => {
    const start = (id: string): StatusEvent => ({ type: "cycle-started", id, trigger: "interval", at: T });
    const s = run(
      start("c1"),
      done(result(removal, "ok")),
      done(result(removal, "skipped")),
      done(result(removal, "failed", "conflict")),
    );
    expect(s.prune?.a1).toMatchObject({
      cycle: "c1",
      removed: 1,
      freedBytes: 5e6,
      kept: 1,
      failed: 1,
      error: "conflict",
    });
    expect(
      run(start("c1"), done(result(removal, "ok")), start("c2"), done(result(removal, "ok"))).prune?.a1,
    ).toMatchObject({
      cycle: "c2",
      removed: 1,
    });
  });

  it.each<[string, StatusEvent[], string[]]>([
    [
      "a new revision, once",
      [
        { type: "revision-applied", revision: "a".repeat(40) },
        { type: "revision-applied", revision: "a".repeat(40) },
      ],
      ["revision aaaaaaaaaaaa in force"],
    ],
    [
      "an agent lost and back",
      [
        {
          type: "agents-observed",
          agents: { a1: { reachable: false, converged: false, pending: 0, error: "ENOENT" } },
        },
        {
          type: "agents-observed",
          agents: { a1: { reachable: false, converged: false, pending: 0, error: "ENOENT" } },
        },
        { type: "agents-observed", agents: { a1: { reachable: true, converged: true, pending: 0 } } },
      ],
      ["agent a1 unreachable: ENOENT", "agent a1 reachable again"],
    ],
    [
      "degraded and converged again, each once",
      [
        { type: "health", reasons: ["x failed"], unknown: [] },
        { type: "health", reasons: ["x failed"], unknown: [] },
        { type: "health", reasons: [], unknown: [] },
      ],
      ["degraded: x failed", "converged: every agent and check verified"],
    ],
    [
      "a retry",
      [executor({ type: "retry", action: pull, attempt: 1, delayMs: 10, error: "503" })],
      ["pull r.test/app:1.0 failed, retrying (attempt 1): 503"],
    ],
    ["a pull done", [done(result(pull, "ok"))], ["pull r.test/app:1.0 on a1 done (dddddddddddd)"]],
    ["a pull failed", [done(result(pull, "failed", "404"))], ["pull r.test/app:1.0 on a1 failed: 404"]],
  ])("feed: %s", (_, events, messages) => {
    expect(run(...events).events.map((e) => e.message)).toEqual(messages);
  });

  it("counts a line that comes again instead of repeating it, and moves it to the end", () => {
    const failed = done(result(pull, "failed", "404"));
    const feed = run(failed, done(result({ ...pull, agent: "a2" }, "ok")), failed).events;
    expect(feed.map((e) => [e.message, e.count])).toEqual([
      ["pull r.test/app:1.0 on a2 done (dddddddddddd)", undefined],
      ["pull r.test/app:1.0 on a1 failed: 404", 2],
    ]);
  });

  it.each<[string, Partial<Extract<StatusEvent, { type: "cycle-finished" }>>, string[]]>([
    [
      "a cycle failed by its actions: their own lines say it",
      { result: "failed", error: "1 action(s) failed", failed: [{ type: "pull", error: "404" }] },
      [],
    ],
    [
      "a cycle failed otherwise: said",
      { result: "failed", error: "the state dir is read-only" },
      ["cycle failed: the state dir is read-only"],
    ],
    ["a refused revision: its refusal says it", { result: "invalid-revision", error: "bad" }, []],
  ])("feed: %s", (_, fields, messages) => {
    const finished: StatusEvent = { type: "cycle-finished", id: "c1", result: "ok", at: T, ...fields };
    expect(run(finished).events.map((e) => e.message)).toEqual(messages);
  });

  it(`keeps the last ${FEED_LENGTH} feed entries`, () => {
    const events = Array.from({ length: FEED_LENGTH + 7 }, (_, i) =>
      done(result({ ...pull, agent: `a${i}` }, "ok")),
    );
    const feed = run(...events).events;
    expect(feed).toHaveLength(FEED_LENGTH);
    expect(feed.at(-1)?.message).toContain(`on a${FEED_LENGTH + 6} done`);
  });
});
