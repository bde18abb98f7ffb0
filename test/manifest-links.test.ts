import { execFile } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { inRepo, kasmGitops } from "./helpers/cli.js";
import { followRepo, type RunningDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, stateDir } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo, tempDir } from "./helpers/git-repos.js";

const exec = promisify(execFile);
const lab = inject("lab");
const engine = lab.engines[0]!;

const fleet = (workspace: string) =>
  fleetYaml({
    registries: [{ name: "corp", host: "registry.example.invalid:5000" }],
    agents: [{ name: "a1", host: engine.host }],
    workspaces: [{ name: workspace, image: "registry.example.invalid:5000/kasm/app:1", registry: "corp" }],
  });
const OUTSIDE_WORKSPACE = `apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: smuggled}
spec: {image: "registry.example.invalid:5000/kasm/smuggled:1", registry: corp}
`;

/** A folder outside every repo: a valid Workspace and a FIFO that nobody writes to. */
async function outsideThings() {
  const dir = await tempDir("outside");
  await writeFile(join(dir, "workspace.yaml"), OUTSIDE_WORKSPACE);
  await exec("mkfifo", [join(dir, "fifo")]);
  return { workspace: join(dir, "workspace.yaml"), fifo: join(dir, "fifo"), dir };
}

/** Links (name → target) created in `dir`; targets are used as written (absolute or relative). */
async function links(dir: string, table: Record<string, string>) {
  for (const [name, target] of Object.entries(table)) await symlink(target, join(dir, name));
}

const PASSWD_LINE = /root:.*:0:0:/;

describe("manifests are read only from regular files inside the repository", () => {
  let outside: Awaited<ReturnType<typeof outsideThings>>;
  beforeAll(async () => {
    outside = await outsideThings();
  });

  it("validate names each link, pipe, device and folder it refuses, never prints their content, never hangs", async () => {
    const root = await tempDir("links");
    await mkdir(join(root, "sub"));
    await writeFile(join(root, "fleet.yaml"), fleet("app"));
    await writeFile(join(root, "sub", "real.yml"), "# kept for the inside link\n");
    await exec("mkfifo", [join(root, "pipe.yaml")]);
    await links(root, {
      "passwd.yaml": "/etc/passwd",
      "zero.yaml": "/dev/zero",
      "fifo.yaml": outside.fifo,
      "outside.yaml": outside.workspace,
      "folder.yaml": join(root, "sub"),
      "dangling.yaml": join(root, "missing.yaml"),
      "inside.yaml": "sub/real.yml",
    });
    const result = await kasmGitops(["validate", root]);
    expect(result.code).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).not.toMatch(PASSWD_LINE);
    expect(output).not.toContain("smuggled");
    const refused = (file: string, why: RegExp) =>
      expect(result.stdout).toMatch(
        new RegExp(
          `^${join(root, file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:1: error: not read: .*${why.source}`,
          "m",
        ),
      );
    refused("passwd.yaml", /outside the manifest repository/);
    refused("zero.yaml", /outside the manifest repository/);
    refused("fifo.yaml", /outside the manifest repository/);
    refused("outside.yaml", /outside the manifest repository/);
    refused("pipe.yaml", /named pipe \(FIFO\), not a regular file/);
    refused("folder.yaml", /is a folder, not a regular file/);
    refused("dangling.yaml", /symbolic link whose target does not exist/);
    // The link inside the folder is followed; its content is valid (only a comment).
    expect(result.stdout).not.toMatch(/inside\.yaml/);
    expect(result.stdout).toMatch(/7 errors in 10 files/);
  }, 30_000);

  it("plan refuses a committed link to a host file or an outside Workspace, naming it relative to the repo", async () => {
    const repo = await createTestRepo();
    await writeFile(join(repo.work, "manifests", "a.yaml"), fleet("app"));
    await links(join(repo.work, "manifests"), {
      "passwd.yaml": "/etc/passwd",
      "outside.yaml": outside.workspace,
    });
    await repo.commit({}, "links to the host");
    const state = await stateDir();
    const result = await inRepo("plan", repo.bare, state, ["--no-refresh"]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toMatch(PASSWD_LINE);
    expect(result.stdout).not.toContain("smuggled");
    expect(result.stderr).toMatch(/^passwd\.yaml:1:1: error: not read: .*outside the manifest repository/m);
    expect(result.stderr).toMatch(/^outside\.yaml:1:1: error: not read: .*outside the manifest repository/m);
    expect(result.stderr).toMatch(/2 error\(s\) in the manifests at main@[0-9a-f]{12}; nothing was planned/);
  });

  it("plan follows a committed link that stays inside the repository", async () => {
    const repo = await createTestRepo();
    await mkdir(join(repo.work, "common"), { recursive: true });
    await writeFile(join(repo.work, "common", "fleet.yaml"), fleet("linked-app"));
    await writeFile(join(repo.work, "manifests", "a.yaml"), "# the fleet lives in common/\n");
    await links(join(repo.work, "manifests"), { "fleet.yaml": "../common/fleet.yaml" });
    await repo.commit({}, "link inside");
    const result = await inRepo("plan", repo.bare, await stateDir(), ["--no-refresh", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(JSON.stringify(JSON.parse(result.stdout))).toContain("linked-app");
  });

  describe("a daemon following a repo with a link to a FIFO", () => {
    let repo: TestRepo;
    let daemon: RunningDaemon;
    beforeAll(async () => {
      repo = await createTestRepo();
      await writeFile(join(repo.work, "manifests", "a.yaml"), fleet("app"));
      await links(join(repo.work, "manifests"), { "fifo.yaml": outside.fifo });
      await repo.commit({}, "a link to a FIFO");
      daemon = await followRepo(repo.bare, "--interval", "1s");
    });
    afterAll(async () => {
      await daemon?.stop("SIGKILL");
    });

    it("reports the refused file, survives a malformed request, and stops on the first SIGTERM", async () => {
      await waitUntil(
        "a failed cycle naming fifo.yaml",
        async () => /"file":"fifo\.yaml".*outside the manifest repository/.test(daemon.logs()),
        30_000,
        daemon.logs,
      );
      expect(((await daemon.status()) as { lastError?: { message: string } }).lastError?.message).toMatch(
        /1 error\(s\) in the manifests/,
      );
      // curl -g --path-as-is 'http://HOST//[' used to kill the daemon.
      const answer = await new Promise<string>((resolve) => {
        let text = "";
        const socket = connect(Number(new URL(daemon.url).port), "127.0.0.1");
        socket.on("data", (d: Buffer) => {
          text += d.toString();
        });
        socket.on("close", () => resolve(text));
        socket.end("GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect((await daemon.get("/healthz")).status).toBe(200);
      const exit = await Promise.race([
        daemon.stop("SIGTERM"),
        new Promise((resolve) => setTimeout(() => resolve("still running 20 s after SIGTERM"), 20_000)),
      ]);
      expect(exit).toBe(0);
    });
  });
});
