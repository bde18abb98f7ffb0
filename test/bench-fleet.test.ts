import { beforeAll, describe, expect, inject, it } from "vitest";
import { benchFleet } from "../src/bench/fleet-figure.js";
import type { FigureLine } from "../src/bench/table.js";

const lab = inject("lab");

/** The fleet figure at a toy size (3 simulated agents × 2 images): it runs, and its counts are right. Never timing. */
describe("npm run bench: the fleet figure", () => {
  let lines: FigureLine[];
  const line = (id: string) => lines.find((l) => l.id === id)!;
  beforeAll(async () => {
    lines = await benchFleet(lab, { agents: 3, images: 2, limit: 2, delayMs: 20, singles: 1 });
  });

  it("reports plan, apply, in-flight, refresh, HEADs, memory and event loop", () => {
    expect(lines.map((l) => l.id)).toEqual([
      "fleet.plan",
      "fleet.apply",
      "fleet.in-flight",
      "fleet.refresh",
      "fleet.refresh.heads",
      "fleet.memory",
      "fleet.event-loop",
    ]);
    expect(line("fleet.apply").baseline?.label).toBe("ideal: 1 rounds × one pull");
    for (const l of lines) expect(Number.isFinite(l.measured.value)).toBe(true);
  });

  it("pulled every image on every agent, each pull costing the registry what dockerd's costs", () => {
    const notes = line("fleet.apply").notes.join("\n");
    expect(notes).toMatch(/; 6 pulls;/);
    // Per pull: GET /v2/, one pull-scoped token, the manifest HEAD and GET, the config and layer blobs.
    expect(notes).toContain(
      "registry: HEAD 6 (6 answered 200, 0 challenged) · GET manifest 6 · GET blob 12 · token 6 · ping 6",
    );
    expect(notes).toContain("engine calls: GET /_ping 6 · POST /images/create 6");
  });

  it("ran every agent at its limit, never above", () => {
    expect(line("fleet.in-flight").measured.value).toBe(2);
    expect(line("fleet.in-flight").target?.met).toBe(true);
    expect(line("fleet.in-flight").notes[0]).toMatch(/the fewest on any agent 2, the most 2$/);
  });

  it("refreshes the unchanged fleet with no action and one answered HEAD per unique tag", () => {
    const notes = line("fleet.refresh").notes.join("\n");
    expect(notes).toMatch(/plan \(0 actions\)/);
    expect(notes).toMatch(
      /registry: HEAD \d+ \(3 answered 200, \d+ challenged\) · GET manifest 0 · GET blob 0/,
    );
    expect(notes).toContain("engine calls: GET /images/json 3 · GET /system/df 3");
    expect(line("fleet.refresh.heads").baseline?.value).toBe(3);
    expect(line("fleet.refresh.heads").measured.value).toBeGreaterThanOrEqual(3);
  });
});
