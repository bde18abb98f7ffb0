import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

const MANIFESTS = `apiVersion: kasm-gitops/v1
kind: Registry
metadata: {name: corp}
spec: {host: "registry.example.com:5000"}
---
apiVersion: kasm-gitops/v1
kind: Agent
metadata: {name: agent-1, labels: {ring: testing}}
spec: {docker: {host: "unix:///var/run/docker.sock"}}
---
apiVersion: kasm-gitops/v1
kind: Agent
metadata: {name: agent-2, labels: {ring: testing}}
spec: {docker: {host: "tcp://10.0.0.2:2376"}}
---
apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: chrome}
spec:
  image: registry.example.com:5000/kasm/chrome:1.16.0
  registry: corp
  agents: {matchLabels: {ring: testing}}
`;

const NEW = `sha256:${"a".repeat(64)}`;
const OLD = `sha256:${"b".repeat(64)}`;

/** What a library user writes: imports by package name only, plans a small fleet, prints the result. */
const USER_SCRIPT = `
import * as api from "kasm-gitops";
const { checkManifestFiles, desiredState, indexLocalImages, buildPlan, summaryLine, describeError,
  KasmGitopsError, parseImageReference } = api;

const { set, problems } = checkManifestFiles([{ file: "fleet.yaml", text: ${JSON.stringify(MANIFESTS)} }]);
const desired = desiredState(set);
const image = "registry.example.com:5000/kasm/chrome:1.16.0";
const held = [{ id: "sha256:1", repoTags: [image], repoDigests: ["registry.example.com:5000/kasm/chrome@${OLD}"] }];
const plan = buildPlan({
  revision: "0".repeat(40),
  branch: "main",
  set,
  desired,
  observations: [
    { agent: "agent-1", reachable: true, images: held },
    { agent: "agent-2", reachable: true, images: [] },
  ],
  digests: new Map([[parseImageReference(image).canonical, { digest: "${NEW}" }]]),
});
let badReference;
try { parseImageReference("Not A Reference"); } catch (error) { badReference = error; }
let deepImport;
try { await import("kasm-gitops/dist/core/manifest/yaml-positions.js"); } catch (error) { deepImport = error.code; }
console.log(JSON.stringify({
  problems: problems.length,
  pulls: plan.actions.map((a) => [a.type, a.agent, a.currentDigest ?? null, a.targetDigest]),
  summary: summaryLine(plan),
  held: indexLocalImages(held).digestsFor(parseImageReference(image)),
  badReference: [badReference instanceof KasmGitopsError, badReference.code, describeError(badReference)],
  exports: Object.keys(api).filter((name) => /position|NodeSpot/i.test(name)),
  deepImport,
}));
`;

describe("the built package, imported by name as a library user would", () => {
  let project: string;

  beforeAll(async () => {
    // A user's project with kasm-gitops installed (linked, as `npm link` does) and nothing else of ours.
    project = await mkdtemp(join(tmpdir(), "kasm-gitops-user-"));
    await mkdir(join(project, "node_modules"));
    await symlink(ROOT, join(project, "node_modules", "kasm-gitops"), "dir");
    await writeFile(join(project, "package.json"), `${JSON.stringify({ type: "module", private: true })}\n`);
    await writeFile(join(project, "plan.js"), USER_SCRIPT);
  });

  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it("plans a small fleet through the package's exports, and keeps internals private", async () => {
    const { stdout } = await exec(process.execPath, ["plan.js"], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      problems: 0,
      pulls: [
        ["pull", "agent-1", OLD, NEW],
        ["pull", "agent-2", null, NEW],
      ],
      summary: expect.stringMatching(/^Plan: 2 pulls on 2 agents/),
      held: [OLD],
      badReference: [true, "invalid-image-reference", expect.stringContaining("Not A Reference")],
      exports: [],
      deepImport: "ERR_PACKAGE_PATH_NOT_EXPORTED",
    });
  });
});
