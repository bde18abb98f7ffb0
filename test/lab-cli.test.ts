import { execFile, spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { type Lab, startLab, stopLab } from "../src/lab/lab.js";
import { mountsUnder } from "../src/lab/ownership.js";
import { isAlive } from "../src/lab/processes.js";
import { tempDir } from "./helpers/git-repos.js";

const exec = promisify(execFile);
const LAB_CLI = fileURLToPath(new URL("../dist/lab/cli.js", import.meta.url));
const lab = inject("lab");

/** `npm run lab -- …` as a user runs it, on the lab the tests use (the output is piped, not a terminal). */
const labCli = (...args: string[]) => labCliIn(lab.dir, ...args);
const labCliIn = (dir: string, ...args: string[]) =>
  exec(process.execPath, [LAB_CLI, ...args], { env: { ...process.env, KASM_GITOPS_LAB_DIR: dir } });

/** The pids whose parent is `pid`, from /proc: what a dockerd started (its containerd), whatever lab.json says. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === String(pid)) children.push(Number(entry));
  }
  return children;
}

describe("npm run lab", () => {
  it("env prints addresses, sockets and credentials as shell variables, without escape codes", async () => {
    const { stdout } = await labCli("env");
    expect(stdout.includes("\u001b")).toBe(false);
    const { stdout: echoed } = await exec("sh", [
      "-c",
      `${stdout}\necho "$LAB_REGISTRY|$LAB_AGENT_1_HOST|$LAB_AUTH_REGISTRY_PASSWORD|$LAB_KASM_URL|$LAB_KASM_API_KEY"`,
    ]);
    expect(echoed.trim()).toBe(
      [
        lab.registries.plain.host,
        lab.engines[0]!.host,
        lab.registries.auth.auth!.password,
        lab.kasm.url,
        lab.kasm.apiKey,
      ].join("|"),
    );
    const json = JSON.parse((await labCli("env", "--json")).stdout) as Record<string, string>;
    expect(json).toMatchObject({ LAB_AGENT_2_SOCKET: lab.engines[1]!.socket, KASM_GITOPS_LAB_DIR: lab.dir });
  });

  it("push REPO:TAG pushes a test image and prints its reference and the registry's digest", async () => {
    const repository = `lab/pushed-${process.pid}`;
    const { stdout } = await labCli("push", `${repository}:v1`);
    const [reference, digest] = stdout.trim().split(" ");
    expect(reference).toBe(`${lab.registries.plain.host}/${repository}:v1`);
    const head = await fetch(`${lab.registries.plain.url}/v2/${repository}/manifests/v1`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(head.headers.get("docker-content-digest")).toBe(digest);
  });

  it("push without REPO:TAG is an error saying what to give", async () => {
    const failed = await labCli("push", "Not Valid").catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("give REPO:TAG") });
  });

  it("up keeps the third engine demo --keep left, and down stops every process either started, containerds too", async () => {
    // A lab folder of its own: the shared one stays up for the other tests.
    const dir = await tempDir("lab-keep");
    try {
      // What `npm run demo -- --keep` leaves running: the lab with three engines.
      const demo = await startLab({ dir, engines: 3, install: false });
      const { lab: kept } = demo;
      // Then `npm run lab -- up`, which asks for two: nothing started, the third engine kept.
      const up = await labCliIn(dir, "up");
      expect(up.stderr).toContain("keeping engine-3, started earlier");
      expect(up.stderr).toContain("reusing running lab services");
      const shown = JSON.parse(up.stdout) as Lab;
      expect(shown.engines.map((e) => `${e.name} ${e.pid}`)).toEqual(
        kept.engines.map((e) => `${e.name} ${e.pid}`),
      );
      const saved = JSON.parse(await readFile(join(dir, "lab.json"), "utf8")) as Lab & {
        processes: { name: string; pid: number }[];
      };
      expect(saved.engines.map((e) => e.name)).toEqual(["engine-1", "engine-2", "engine-3"]);
      const env = (await labCliIn(dir, "env")).stdout;
      expect(env).toContain(`export LAB_AGENT_3_HOST='${kept.engines[2]!.host}'`);

      // Every process the lab runs, found from /proc: each dockerd's children (its containerd) too.
      const services = [...kept.engines, kept.registries.plain, kept.registries.auth, kept.kasm].map(
        (s) => s.pid,
      );
      const containerds = (await Promise.all(kept.engines.map((e) => childrenOf(e.pid)))).flat();
      expect(containerds).toHaveLength(3);
      expect(saved.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual(
        [...services, ...containerds].sort((a, b) => a - b),
      );
      for (const pid of [...services, ...containerds]) expect(isAlive(pid), `pid ${pid}`).toBe(true);

      // `npm run lab -- down`: all of it stops, engine-3's dockerd and containerd included, and nothing stays mounted.
      const down = await labCliIn(dir, "down");
      expect(down.stderr).toContain(`stopped ${services.length + containerds.length} process(es) of ${dir}`);
      for (const pid of [...services, ...containerds]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(mountsUnder(await readFile("/proc/mounts", "utf8"), dir)).toEqual([]);
    } finally {
      await stopLab(dir);
    }
  });

  it("down leaves alone a recorded pid that is no longer the lab's process", async () => {
    const dir = await tempDir("lab-down");
    // A process that is not the lab's (no lab folder on its command line), and one whose start time differs.
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    const reused = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)", dir], { stdio: "ignore" });
    try {
      await writeFile(
        join(dir, "lab.json"),
        JSON.stringify({
          engines: [{ name: "engine-1", dir: join(dir, "engine-1"), pid: other.pid }],
          registries: { plain: { pid: reused.pid, startTime: "1" } },
        }),
      );
      const result = await stopLab(dir);
      expect(result).toEqual({ stopped: [], foreign: [other.pid, reused.pid], mounts: [] });
      expect(isAlive(other.pid)).toBe(true);
      expect(isAlive(reused.pid)).toBe(true);
    } finally {
      other.kill();
      reused.kill();
    }
  });
});
