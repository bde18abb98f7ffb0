import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import type { Lab } from "../src/lab/lab.js";
import { isAlive } from "../src/lab/processes.js";
import { tempDir } from "./helpers/git-repos.js";

const exec = promisify(execFile);
const DEMO = fileURLToPath(new URL("../dist/lab/demo.js", import.meta.url));
const lab = inject("lab");

/** `npm run demo` as a user pipes it, on the test lab, with its temporary folders under `tmp`. */
async function runDemo(tmp: string) {
  const { NO_COLOR: _, ...env } = process.env;
  try {
    const { stdout, stderr } = await exec(process.execPath, [DEMO], {
      env: { ...env, TERM: "xterm", TMPDIR: tmp, KASM_GITOPS_LAB_DIR: lab.dir },
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("npm run demo", () => {
  it("works in a fresh temporary folder it removes, prints no escape codes when piped, stops only what it started, ends converged", async () => {
    const tmp = await tempDir("demo-tmp");
    // What an earlier run (or another user) left behind must be neither reused nor touched.
    const leftover = join(tmp, "kasm-gitops-demo-earlier");
    await mkdir(leftover);
    await writeFile(join(leftover, "note"), "an earlier demo\n");
    const before = [...lab.engines, lab.registries.plain, lab.registries.auth, lab.kasm].map((s) => s.pid);

    const result = await runDemo(tmp);
    const output = result.stdout + result.stderr;
    expect(result.code, output.slice(-4000)).toBe(0);
    expect(output.includes("\u001b")).toBe(false);

    const repo = /manifest repo: (\S+)/.exec(result.stdout)?.[1];
    expect(repo).toBeDefined();
    expect(dirname(dirname(repo!))).toBe(tmp);
    expect(dirname(repo!)).toMatch(/\/kasm-gitops-demo-[A-Za-z0-9]{6}$/);
    // Removed as documented (no --keep); the earlier folder is still there, as it was.
    expect(await readdir(tmp)).toEqual(["kasm-gitops-demo-earlier"]);
    expect(await readFile(join(leftover, "note"), "utf8")).toBe("an earlier demo\n");

    // Ends converged: the last plan has nothing left to do.
    const last = result.stdout.split("==> kasm-gitops plan: converged")[1] ?? "";
    expect(last).toContain("No changes.");
    // Production runs the build its auto-promotion wrote: up to date, not a promotion "skipped".
    expect(last).toContain("up to date: chrome-testing 20261206 is the newest its policy allows");
    expect(last).not.toContain("promotion skipped");
    expect(result.stdout).toContain("Apply complete:");
    // The Test step: chrome-testing's smoke session passed in Kasm before promote, and none is left.
    const beforePromote = result.stdout.split("kasm-gitops promote checks it")[0]!;
    expect(beforePromote).toMatch(/^done +smoke chrome-testing in [\d.]+s → sha256:[0-9a-f]{12}$/m);
    expect(result.stdout).toMatch(
      /✓ chrome-testing +sha256:[0-9a-f]{12} passed .*: ran for 3s on Kasm agent/,
    );
    expect(result.stdout).toMatch(/^Promoted workspace "chrome"/m);
    // A broken build's smoke test fails in Kasm, and its promotion is refused naming what Kasm reported.
    const broken = result.stdout.split("A broken nightly build")[1]?.split("git revert")[0] ?? "";
    expect(broken).toMatch(/^failed +smoke chrome-testing: .*the session stopped before it ran/m);
    expect(result.stderr).toMatch(
      /cannot promote workspace "chrome" .*the smoke test of digest sha256:[0-9a-f]{64} in Kasm .*failed: the session stopped before it ran/,
    );
    // The last act, the whole loop: CI's build → the update commit → testing switched → smoke pass → the
    // daemon's own promotion commit → production switched, in that order.
    const loop =
      result.stdout.split("==> The whole loop")[1]?.split("==> kasm-gitops plan: converged")[0] ?? "";
    expect(loop).toContain("update pushed: chrome-testing → 20261206 on main");
    const steps = [
      "Kasm-Gitops-Automation: update",
      "Kasm record of chrome-testing switched",
      "smoke session of chrome-testing passed in Kasm",
      "promotion pushed: chrome → ",
      "Kasm record of chrome switched",
    ].map((step) => loop.indexOf(step));
    expect(
      steps.every((at, i) => at >= 0 && (i === 0 || at > steps[i - 1]!)),
      loop,
    ).toBe(true);
    expect(loop).toMatch(
      /^[0-9a-f]{7} kasm-gitops: Promote chrome to 20261206 \(sha256:[0-9a-f]{12} verified on chrome-testing\)$/m,
    );
    expect(loop).toMatch(/^ {2}Chrome {2,}\S+\/kasm\/chrome:20261206 {2}groups/m);
    const kasm = (await (await fetch(`${lab.kasm.url}/__lab/state`)).json()) as { kasms: unknown[] };
    expect(kasm.kasms).toEqual([]);

    // The lab's services the demo found running still run; the ones it started (a third engine) stopped.
    for (const pid of before) expect(isAlive(pid), `pid ${pid}`).toBe(true);
    const started = /^ {2}started (.+)$/m.exec(result.stdout)?.[1]?.split(", ") ?? [];
    const saved = JSON.parse(await readFile(join(lab.dir, "lab.json"), "utf8")) as Lab;
    // lab.json lists the engines still running, not the ones the demo stopped.
    for (const engine of saved.engines) {
      expect(isAlive(engine.pid), engine.name).toBe(true);
      expect(started).not.toContain(engine.name);
    }
    expect(result.stdout).toContain(
      started.length ? "Stopped the lab services this demo started" : "The lab was already running; left it",
    );
  });
});
