import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { benchCore } from "../src/bench/core-figure.js";
import { type FigureLine, renderTable } from "../src/bench/table.js";

/** The built bench (`npm test` builds first), run as `npm run bench` runs it. */
const BENCH = fileURLToPath(new URL("../dist/bench/main.js", import.meta.url));
const TOY = ["--documents", "60", "--plan-workspaces", "12", "--plan-agents", "4", "--runs", "1"];

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--expose-gc", BENCH, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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

type Report = {
  parts: { part: string; pid: number; loadAverage: number[]; figures: string[] }[];
  figures: FigureLine[];
  errors: unknown[];
};

/** Memory figures count only their own part: each part runs in a child process of its own. */
describe("npm run bench: each part in its own process", () => {
  it("runs validation and planning in two processes, neither of them the bench's own, with the load at their start", async () => {
    const { code, stdout } = await bench(["--only", "core", "--json", ...TOY]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.errors).toEqual([]);
    expect(report.parts.map((p) => [p.part, p.figures])).toEqual([
      ["core.validate", ["core.validate", "core.validate.memory"]],
      ["core.plan", ["core.plan", "core.plan.memory"]],
    ]);
    const pids = report.parts.map((p) => p.pid);
    expect(new Set(pids).size).toBe(2);
    for (const p of report.parts) {
      expect(Number.isInteger(p.pid) && p.pid > 0 && p.pid !== process.pid).toBe(true);
      expect(p.loadAverage).toHaveLength(3);
    }
    expect(report.figures.map((f) => f.id)).toEqual([
      "core.validate",
      "core.validate.memory",
      "core.plan",
      "core.plan.memory",
    ]);
    expect(report.figures[0]!.notes[0]).toMatch(/^2 files, [\d.]+ MB, \d+ warnings; median of 1 run\(s\)$/);
  });

  it("prints the table with each part's load averages", async () => {
    const { code, stdout, stderr } = await bench(["--only", "core", ...TOY]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Each part ran in its own process; load averages \(1, 5, 15 min\) when it started:$/m,
    );
    expect(stdout).toMatch(/^ {2}core\.validate: [\d.]+ [\d.]+ [\d.]+$/m);
    expect(stdout).toMatch(/^ {2}core\.plan: [\d.]+ [\d.]+ [\d.]+$/m);
    expect(stderr).toMatch(/core\.plan done in [\d.]+ s \(pid \d+\)/);
  });

  it("one part measured in this process prints its own report", async () => {
    const { code, stdout } = await bench(["--part", "core.plan", ...TOY]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { part: string; pid: number; figures: FigureLine[] };
    expect(report.part).toBe("core.plan");
    expect(report.figures.map((f) => f.id)).toEqual(["core.plan", "core.plan.memory"]);
  });

  it.each([
    [
      ["--only", "nope"],
      "--only nope: use one of core, registry, scheduling, daemon, kasm, prune, fleet, page, update",
    ],
    [["--part", "core"], "--part core: use one of core.validate, core.plan, registry,"],
  ])("%j is refused with exit 2, naming the choices", async (args, message) => {
    const { code, stderr } = await bench(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});
