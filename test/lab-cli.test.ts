import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { stopLab } from "../src/lab/lab.js";
import { isAlive } from "../src/lab/processes.js";
import { tempDir } from "./helpers/git-repos.js";

const exec = promisify(execFile);
const LAB_CLI = fileURLToPath(new URL("../dist/lab/cli.js", import.meta.url));
const lab = inject("lab");

/** `npm run lab -- …` as a user runs it, on the lab the tests use (the output is piped, not a terminal). */
const labCli = (...args: string[]) =>
  exec(process.execPath, [LAB_CLI, ...args], { env: { ...process.env, KASM_GITOPS_LAB_DIR: lab.dir } });

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
