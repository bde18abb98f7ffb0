import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { kasmGitops } from "./helpers/cli.js";

const REGISTRY = `apiVersion: kasm-gitops/v1
kind: Registry
metadata: {name: corp}
spec:
  host: registry.example.com:5000
  auth: {username: ci, password: {env: KASM_SECRET_CORP_TOKEN}}
`;
const AGENT = `apiVersion: kasm-gitops/v1
kind: Agent
metadata: {name: agent-1, labels: {ring: testing}}
spec: {docker: {host: "unix:///var/run/docker.sock"}}
`;
const workspace = (name: string, extra = "") => `apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: ${name}}
spec:
  image: registry.example.com:5000/kasm/${name}:1
  registry: corp
${extra}`;

const roots: string[] = [];
/** A temporary manifest folder holding `files` (relative path → content). */
async function folder(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "kasm-gitops-validate-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

describe("kasm-gitops validate", () => {
  it("exits 0 on a valid folder, reading subfolders and skipping hidden ones", async () => {
    const dir = await folder({
      "registry.yaml": REGISTRY,
      "agents/agent-1.yml": AGENT,
      "workspaces/chrome.yaml": workspace("chrome"),
      ".git/config.yaml": "not: [valid",
      ".gitlab-ci.yml": "stages: [test]\n",
      "README.md": "# manifests\n",
    });
    const result = await kasmGitops(["validate"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stdout: "3 files valid\n", stderr: "" });
  });

  it("skips node_modules at any depth, where a package's own examples would fail", async () => {
    const dir = await folder({
      "registry.yaml": REGISTRY,
      "node_modules/kasm-gitops/examples/bad.yaml": "not: [valid",
      "tools/node_modules/x/pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    });
    const result = await kasmGitops(["validate"], { cwd: dir });
    expect(result).toMatchObject({ code: 0, stdout: "1 file valid\n", stderr: "" });
  });

  it("exits 1 with one file:line:col line per problem and a summary", async () => {
    const dir = await folder({
      "registry.yaml": REGISTRY.replace("{env: KASM_SECRET_CORP_TOKEN}", "s3cret"),
      "workspaces.yaml": `${workspace("chrome", "  frendlyName: Chrome\n")}---\n${workspace("firefox", "  agents: {matchLabels: {ring: prod}}\n")}`,
    });
    const result = await kasmGitops(["validate", dir]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`^${dir}/registry\\.yaml:6:34: error: spec\\.auth\\.password holds a literal secret`),
      ),
      expect.stringMatching(
        new RegExp(
          `^${dir}/workspaces\\.yaml:7:3: error: unknown property "frendlyName" in spec \\(did you mean "friendlyName"\\?\\)`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${dir}/workspaces\\.yaml:15:12: warning: no agent has the labels ring=prod`),
      ),
      "2 errors, 1 warning in 2 files",
    ]);
  });

  it("prints the problems as a JSON array with --json", async () => {
    const dir = await folder({ "a.yaml": "a: 1\na: 2\n" });
    const result = await kasmGitops(["validate", "--json", "."], { cwd: dir });
    expect(result.code).toBe(1);
    const problems = JSON.parse(result.stdout) as unknown[];
    expect(problems).toEqual([
      {
        file: "a.yaml",
        line: 1,
        col: 1,
        severity: "error",
        code: "missing-property",
        message: expect.any(String),
      },
      {
        file: "a.yaml",
        line: 2,
        col: 1,
        severity: "error",
        code: "duplicate-key",
        message: expect.any(String),
      },
    ]);
  });

  it("passes warnings unless --strict", async () => {
    const dir = await folder({
      "all.yaml": `${REGISTRY}---\n${AGENT}---\n${workspace("chrome", "  agents: {matchLabels: {ring: production}}\n")}`,
    });
    const relaxed = await kasmGitops(["validate", dir]);
    expect(relaxed.code).toBe(0);
    expect(relaxed.stdout).toMatch(
      /warning: no agent has the labels ring=production.*\n1 warning in 1 file\n$/,
    );
    const strict = await kasmGitops(["validate", "--strict", dir]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe(relaxed.stdout);
  });

  it("checks each folder on its own and names files as the user wrote the path", async () => {
    const root = await folder({
      "one/registry.yaml": REGISTRY,
      "two/ws.yaml": workspace("chrome"),
    });
    const result = await kasmGitops(["validate", "one", "two"], { cwd: root });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^two\/ws\.yaml:6:13: error: unknown registry "corp"; no Registry is defined\n1 error in 2 files\n$/,
    );
  });

  it("validates a single file given instead of a folder", async () => {
    const root = await folder({ "registry.yaml": REGISTRY });
    const result = await kasmGitops(["validate", "registry.yaml"], { cwd: root });
    expect(result).toMatchObject({ code: 0, stdout: "1 file valid\n" });
  });

  it("reports a file over 1 MiB without reading it", async () => {
    const root = await folder({ "big.yaml": `# ${"x".repeat(1 << 20)}\n`, "registry.yaml": REGISTRY });
    const result = await kasmGitops(["validate", "."], { cwd: root });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      "big.yaml:1:1: error: file is 1.0 MiB; a manifest file may hold at most 1.0 MiB: split it into several files\n1 error in 2 files\n",
    );
  });

  it.each([
    [["validate", "no-such-dir"], /^kasm-gitops: error: manifest folder no-such-dir does not exist\n$/],
    [["validate", "empty"], /^kasm-gitops: error: no \*\.yaml or \*\.yml manifest files under empty\n$/],
  ])("%j is a clear error with exit 1", async (args, message) => {
    const root = await folder({ "empty/notes.txt": "" });
    const result = await kasmGitops(args, { cwd: root });
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(message);
  });
});
