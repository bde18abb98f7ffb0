import { describe, expect, it } from "vitest";
import { benchCore } from "../src/bench/core-figure.js";
import { renderTable } from "../src/bench/table.js";

/** The core figure at toy sizes through the bench's own function, so `npm run bench` cannot rot unnoticed. */
describe("npm run bench: the core figure", () => {
  const lines = benchCore({ documents: 60, workspaces: 12, agents: 4, runs: 1 });

  it("measures validation and planning, each with its memory, against a baseline and a target", () => {
    expect(lines.map((l) => l.id)).toEqual([
      "core.validate",
      "core.validate.memory",
      "core.plan",
      "core.plan.memory",
    ]);
    expect(lines.map((l) => l.what)).toEqual([
      "validate 60 documents",
      "validate 60 documents: memory",
      "plan 12 workspaces × 4 agents",
      "plan 12 workspaces × 4 agents: memory",
    ]);
  });

  it.each(["core.validate", "core.plan"])(
    "%s gives finite numbers: time, baseline, ratio and the ratio to its target",
    (id) => {
      const line = lines.find((l) => l.id === id)!;
      expect(line.measured.unit).toBe("ms");
      for (const n of [line.measured.value, line.baseline!.value, line.ratio!, line.target!.ratio!]) {
        expect(Number.isFinite(n)).toBe(true);
      }
      expect(line.baseline!.value).toBeGreaterThan(0);
      expect(typeof line.target!.met).toBe("boolean");
    },
  );

  it.each(["core.validate.memory", "core.plan.memory"])("%s reports heap growth in MB", (id) => {
    const line = lines.find((l) => l.id === id)!;
    expect(line.measured.unit).toBe("MB");
    expect(Number.isFinite(line.measured.value)).toBe(true);
    expect(Number.isFinite(line.baseline!.value)).toBe(true);
  });

  it("holds planning to its targets: time and heap growth, each with its ratio and verdict", () => {
    const [time, memory] = ["core.plan", "core.plan.memory"].map((id) => lines.find((l) => l.id === id)!);
    expect(time!.target!.label).toBe("< 0.5 s");
    expect(memory!.target!.label).toBe("< 150 MB");
    expect(memory!.target!.ratio).toBeCloseTo(memory!.measured.value / 150);
    expect(time!.notes.at(-2)).toMatch(/^runs: \d+ ms \(one run\)$/);
    expect(time!.notes.at(-1)).toMatch(
      /^CPU time \(all threads\): \d+ ms, median \d+ ms; baseline median \d+ ms$/,
    );
  });

  it("counts the documents it validated and the pulls it planned", () => {
    expect(lines[0]!.notes[0]).toMatch(/^2 files, [\d.]+ MB, \d+ warnings; median of 1 run\(s\)$/);
    // 12 workspaces, 4 agents: 4 select every agent, 8 select one ring of 2 agents → 32 desired images.
    expect(lines[2]!.notes[0]).toMatch(/^32 desired images on agents, \d+ pulls planned/);
  });

  it("renders one table row per figure", () => {
    const table = renderTable(lines).split("\n");
    expect(table[0]).toMatch(/^figure +measured +ideal \/ baseline +ratio +target$/);
    expect(table.slice(2, 6).map((row) => row.split("  ")[0])).toEqual(lines.map((l) => l.what));
  });
});
