import { describe, expect, it } from "vitest";
import { systemClock } from "./clock.js";

describe("systemClock", () => {
  it("sleeps and tells the time", async () => {
    const before = systemClock.now().getTime();
    await expect(systemClock.sleep(5)).resolves.toBeUndefined();
    expect(systemClock.now().getTime()).toBeGreaterThanOrEqual(before);
  });

  it.each([
    ["before the sleep", true],
    ["during the sleep", false],
  ])("rejects with the signal's reason when aborted %s", async (_, early) => {
    const controller = new AbortController();
    const reason = new Error("stopping");
    if (early) controller.abort(reason);
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
  });
});
