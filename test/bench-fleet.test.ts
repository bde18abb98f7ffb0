import { cpus } from "node:os";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { benchFleet, benchFleetSlow } from "../src/bench/fleet-figure.js";
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
    expect(line("fleet.apply").baseline?.label).toMatch(
      /^ideal: (1 rounds × one pull; harness CPU floor \d+ ms|harness CPU floor, [\d.]+ s \/ \d+ cores; schedule \d+ ms)$/,
    );
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

  it("sets the apply's ideal at the larger of its schedule and the harness's CPU over the cores", () => {
    const apply = line("fleet.apply");
    const b = apply.breakdown!;
    expect(Object.keys(b)).toEqual([
      "rounds",
      "onePull",
      "schedule",
      "harnessCpu",
      "cores",
      "harnessFloor",
      "reconcilerCpu",
      "pulls",
    ]);
    expect([b.rounds!.value, b.cores!.value, b.pulls!.value]).toEqual([1, cpus().length, 6]);
    expect(b.harnessCpu!.value).toBeGreaterThan(0);
    expect(b.schedule!.value).toBeCloseTo(b.rounds!.value * b.onePull!.value);
    expect(b.harnessFloor!.value).toBeCloseTo(b.harnessCpu!.value / b.cores!.value);
    expect(apply.baseline!.value).toBe(Math.max(b.schedule!.value, b.harnessFloor!.value));
    expect(apply.ratio).toBeCloseTo(apply.measured.value / apply.baseline!.value);
    expect(apply.notes[0]).toMatch(
      /^ideal = max\(schedule \d+ ms, harness CPU floor \d+ ms\): the (schedule|harness's CPU) binds/,
    );
  });

  it("reports the reconciler's memory apart from the harness's", () => {
    const memory = line("fleet.memory");
    const b = memory.breakdown!;
    expect(Object.keys(b)).toEqual(["peakRss", "rssAtEnd", "heapAtEnd", "harnessPeakRss"]);
    expect(memory.measured.value).toBe(b.peakRss!.value);
    expect(b.peakRss!.value).toBeGreaterThanOrEqual(b.rssAtEnd!.value);
    expect(b.rssAtEnd!.value).toBeGreaterThan(b.heapAtEnd!.value);
    expect(b.harnessPeakRss!.value).toBeGreaterThan(0);
    expect(memory.notes[1]).toMatch(
      /^the harness is apart: the 3 simulated engines and the proxy ran in a child process/,
    );
  });
});

/** The slower apply beside the default one: the same fleet and counts at a longer delay per blob. */
describe("npm run bench: the fleet figure's slower apply", () => {
  it("reports one apply line with its own delay, schedule and CPU floor", async () => {
    const lines = await benchFleetSlow(lab, { agents: 3, images: 2, limit: 2, delayMs: 60, singles: 1 });
    expect(lines.map((l) => [l.id, l.what])).toEqual([
      ["fleet.apply.slow", "apply 2 images on 3 simulated agents, limit 2, 60 ms per blob"],
    ]);
    const b = lines[0]!.breakdown!;
    expect([b.rounds!.value, b.pulls!.value, b.cores!.value]).toEqual([1, 6, cpus().length]);
    expect(lines[0]!.baseline!.value).toBe(Math.max(b.schedule!.value, b.harnessFloor!.value));
    expect(lines[0]!.notes.join("\n")).toContain(
      "registry: HEAD 6 (6 answered 200, 0 challenged) · GET manifest 6 · GET blob 12 · token 6 · ping 6",
    );
  });
});
