import { describe, expect, it } from "vitest";
import type { NotificationEventKind, NotificationManifest } from "../core/manifest/types.js";
import { type NotificationEvent, notificationBody } from "../core/notification.js";
import { createNotifier, type NotificationSender } from "./notifier.js";

const target = (
  name: string,
  events: NotificationEventKind[],
  type: "webhook" | "slack" | "discord" = "webhook",
) =>
  ({
    apiVersion: "kasm-gitops/v1",
    kind: "Notification",
    metadata: { name },
    spec: { type, url: { env: "X" }, events },
    source: { file: "n.yaml", line: 1, col: 1 },
  }) as NotificationManifest;
const event = (kind: NotificationEventKind, revision = "r1"): NotificationEvent => ({
  event: kind,
  revision: revision.padEnd(40, "0"),
  branch: "main",
  time: "2026-11-30T00:00:00.000Z",
  message: "m",
});
const instantClock = { now: () => new Date(), sleep: async () => {} };
const quiet = { info() {}, warn() {} };

function setUp(send: NotificationSender, extra: { maxQueue?: number } = {}) {
  const counts: string[] = [];
  const logs: string[] = [];
  const notifier = createNotifier({
    send,
    resolveUrl: async () => "http://hooks.test/secret-token",
    clock: instantClock,
    logger: { info: quiet.info, warn: (obj) => logs.push(JSON.stringify(obj)) },
    count: (name, _type, result) => counts.push(`${name} ${result}`),
    attempts: 3,
    ...extra,
  });
  return { notifier, counts, logs };
}

describe("createNotifier", () => {
  it("sends once per target, event kind and revision, only for the events a target asked for", async () => {
    const sent: string[] = [];
    const { notifier } = setUp(async (_url, body) => {
      sent.push((body as { event: string; revision: string }).event);
    });
    notifier.configure([target("ops", ["degraded", "recovered"]), target("chat", ["recovered"])]);
    for (const e of [
      event("degraded"),
      event("degraded"),
      event("rollout-done"),
      event("recovered"),
      event("degraded", "r2"),
    ])
      notifier.emit(e);
    await notifier.drain(1000);
    expect(sent).toEqual(["degraded", "recovered", "recovered", "degraded"]);
  });

  it.each([
    ["recovers after failures", 2, ["ops retried", "ops retried", "ops sent"]],
    ["gives up after the last attempt", 5, ["ops retried", "ops retried", "ops failed"]],
  ])("%s", async (_, failures, expected) => {
    let calls = 0;
    const { notifier, counts, logs } = setUp(async (url) => {
      calls++;
      if (calls <= failures) throw new Error(`HTTP 500 from ${url}`);
    });
    notifier.configure([target("ops", ["rollout-failed"])]);
    notifier.emit(event("rollout-failed"));
    await notifier.drain(1000);
    expect(counts).toEqual(expected);
    expect(logs.join("\n")).not.toContain("secret-token");
  });

  it("returns from emit at once while a receiver hangs, and drops the oldest message past its bound", async () => {
    const { notifier, counts } = setUp(() => new Promise(() => {}), { maxQueue: 2 });
    notifier.configure([target("ops", ["degraded"])]);
    for (const r of ["r1", "r2", "r3", "r4"]) notifier.emit(event("degraded", r));
    await notifier.drain(20);
    expect(counts).toEqual(["ops dropped"]);
    notifier.close();
  });
});

describe("notificationBody", () => {
  it.each([
    ["webhook", ["source", "event", "revision", "branch", "time", "message"]],
    ["slack", ["text"]],
    ["discord", ["content"]],
  ] as const)("%s", (type, keys) => {
    expect(Object.keys(notificationBody(type, event("promoted")) as object)).toEqual(keys);
  });
});
