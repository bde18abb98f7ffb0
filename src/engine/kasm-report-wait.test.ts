import { describe, expect, it } from "vitest";
import { virtualClock } from "../../test/helpers/virtual-clock.js";
import type { KasmServerReport } from "../core/kasm/agents.js";
import { awaitKasmReports } from "./kasm-report-wait.js";

const IMAGE = "reg:5000/kasm/chrome:20261206";
const D1 = `sha256:${"1".repeat(64)}`;
const WAIT = { servers: [{ serverId: "s1", hostname: "k1" }], image: IMAGE, digest: D1 };

/** get_servers answering one step of `steps` per call (the last one from then on): a report, or a failure. */
function kasm(steps: ("old" | "new" | "error")[], clock: ReturnType<typeof virtualClock>) {
  let calls = 0;
  return {
    calls: () => calls,
    async listServers(): Promise<KasmServerReport[]> {
      const step = steps[Math.min(calls++, steps.length - 1)]!;
      if (step === "error") throw new Error("Kasm answered 503");
      return [
        {
          serverId: "s1",
          hostname: "k1",
          serverType: "host",
          enabled: true,
          operationalStatus: "running",
          zoneId: "z",
          zoneName: "default",
          imageTags: step === "new" ? [IMAGE] : ["reg:5000/kasm/chrome:20261201"],
          imageDigests: step === "new" ? [`reg:5000/kasm/chrome@${D1}`] : [],
          lastReported: clock.now().toISOString(),
        },
      ];
    },
  };
}

describe("awaitKasmReports", () => {
  it.each([
    ["reported already: no wait", ["new"], 1],
    ["reported at the third check-in: asked three times", ["old", "old", "new"], 3],
    ["a failed read on the way is asked again", ["old", "error", "new"], 3],
  ] as const)("%s", async (_, steps, calls) => {
    const clock = virtualClock(Date.UTC(2026, 11, 6));
    const api = kasm([...steps], clock);
    await awaitKasmReports(api, WAIT, { clock, timeoutMs: 10_000 });
    expect(api.calls()).toBe(calls);
  });

  it.each([
    ["never reported: held at the bound, naming the agent and what it reports", ["old"], /k1 \(lacks-tag\)/],
    [
      "Kasm unreadable to the end: held, saying so",
      ["error"],
      /Kasm's agents could not be read: Kasm answered 503/,
    ],
  ] as const)("%s", async (_, steps, detail) => {
    const clock = virtualClock(Date.UTC(2026, 11, 6));
    const error = await awaitKasmReports(kasm([...steps], clock), WAIT, { clock, timeoutMs: 5000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "kasm-report-stale" });
    expect((error as Error).message).toMatch(
      new RegExp(`^Kasm's agents did not report ${IMAGE} at ${D1} within 5s: `),
    );
    expect((error as Error).message).toMatch(detail);
    expect((error as Error).message).toMatch(
      /the record keeps the current image; the next cycle tries again$/,
    );
    // Asked about once a second for the whole bound, never beyond it.
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(5000);
  });
});
