/**
 * Every part of the bench runs in a child process of its own, so a figure that reports a process's memory
 * (heap growth, peak RSS) counts only what its own part did: a full `npm run bench` and `--only` give the
 * same figure, whatever ran before.
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { FigureLine } from "./table.js";

/** The figures `--only` names, and the parts (one child process each) that measure them, in order. */
export const FIGURE_PARTS = {
  core: ["core.validate", "core.plan"],
  registry: ["registry"],
  scheduling: ["scheduling"],
  daemon: ["daemon"],
  kasm: ["kasm", "kasm.smoke"],
  prune: ["prune"],
  fleet: ["fleet", "fleet.slow"],
  page: ["page"],
  update: ["update"],
} as const;
export type Figure = keyof typeof FIGURE_PARTS;
export type Part = (typeof FIGURE_PARTS)[Figure][number];
export const FIGURES = Object.keys(FIGURE_PARTS) as Figure[];
export const PARTS = FIGURES.flatMap((f) => [...FIGURE_PARTS[f]]) as Part[];

/** What one part measured, and where: its process id and the machine's load averages when it started. */
export type PartReport = {
  part: Part;
  pid: number;
  /** `os.loadavg()` when the part started: 1, 5 and 15 minutes. */
  loadAverage: number[];
  seconds: number;
  figures: FigureLine[];
  errors: { figure: string; error: string }[];
};

/** The report a part prints on stdout as JSON when run with `--part` (what each child does). */
export async function runHere(part: Part, measure: () => Promise<FigureLine[]>): Promise<PartReport> {
  const loadAverage = loadavg();
  const started = Date.now();
  const report = {
    part,
    pid: process.pid,
    loadAverage,
    figures: [] as FigureLine[],
    errors: [] as PartReport["errors"],
  };
  try {
    report.figures = await measure();
  } catch (error) {
    report.errors.push({ figure: part, error: (error as Error).message });
  }
  return { ...report, seconds: (Date.now() - started) / 1000 };
}

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/**
 * Runs `main.js --part PART ARGS…` with this process's node flags (--expose-gc) and reads its report from its
 * stdout; its log lines go to this process's stderr. A child that dies without a report is an error of that part.
 */
export function runInChild(part: Part, args: readonly string[]): Promise<PartReport> {
  const child = spawn(process.execPath, [...process.execArgv, MAIN, "--part", part, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    const failed = (error: string): PartReport => ({
      part,
      pid: child.pid ?? 0,
      loadAverage: [],
      seconds: 0,
      figures: [],
      errors: [{ figure: part, error }],
    });
    child.on("error", (error) => resolve(failed(`its process did not start: ${error.message}`)));
    child.on("close", (code, signal) => {
      const out = Buffer.concat(chunks).toString("utf8");
      try {
        resolve(JSON.parse(out) as PartReport);
      } catch {
        resolve(
          failed(
            `its process exited (${signal ?? code}) without a report${out ? `: ${out.slice(0, 200)}` : ""}`,
          ),
        );
      }
    });
  });
}
