import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import type { Plan } from "../src/core/plan/types.js";
import { OCI_INDEX, pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { kasmGitops } from "./helpers/cli.js";
import { localDigests, promotionPairYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [testingEngine, productionEngine] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
const ACCEPT = `${OCI_INDEX}, application/vnd.oci.image.manifest.v1+json`;

describe("promotion through apply, on the real registry", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let state: string;
  let indexDigest: string;
  let oldLatest: string;
  const name = uniqueRepo("chrome");
  const ref = (tag: string) => `${proxy.host}/${name}:${tag}`;
  const registryDigest = async (tag: string) => {
    const response = await fetch(`${proxy.url}/v2/${name}/manifests/${tag}`, {
      method: "HEAD",
      headers: { accept: ACCEPT },
    });
    return {
      digest: response.headers.get("docker-content-digest"),
      type: response.headers.get("content-type"),
    };
  };
  const run = async (command: "plan" | "apply", branch = "main") => {
    const result = await kasmGitops([
      command,
      "--repo",
      repo.bare,
      "--branch",
      branch,
      "--path",
      "manifests",
      "--state-dir",
      state,
      "--json",
    ]);
    return result;
  };
  const plan = async (branch = "main") => {
    const result = await run("plan", branch);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Plan;
  };
  const puts = () => proxy.requests.filter((r) => r.kind === "manifest-put").length;

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    indexDigest = (
      await pushRandomImage({ url: proxy.url, repository: name, tag: "20261127" }, [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ])
    ).digest;
    oldLatest = (await pushRandomImage({ url: proxy.url, repository: name, tag: "latest" })).digest;
    repo = await createTestRepo();
    state = await stateDir();
    const files = {
      "manifests/a.yaml": promotionPairYaml({
        registryHost: proxy.host,
        testingHost: testingEngine.host,
        productionHost: productionEngine.host,
        testingImage: ref("20261127"),
        productionImage: ref("20261127"),
      }),
    };
    await repo.commit(files, "release 20261127", "main");
    // The same commit on a merge-request branch.
    await git(repo.work, "push", "--quiet", "origin", "main:feature");
    proxy.reset();
  });
  afterAll(async () => {
    await proxy.close();
  });

  /** Every repo digest the production engine holds for this repository, whatever the tag. */
  const productionDigests = async () => {
    const images = await createDockerAgent({ name: "probe", host: productionEngine.host }).listImages();
    const prefix = `${proxy.host}/${name}@`;
    return images.flatMap((i) =>
      i.repoDigests.filter((d) => d.startsWith(prefix)).map((d) => d.slice(prefix.length)),
    );
  };

  it("blocks an unverified digest and the pull of latest at it; after apply neither registry nor production has it", async () => {
    const before = await plan();
    expect(
      before.blocked.map((b) => [b.reason, "image" in b && b.image, "targetDigest" in b && b.targetDigest]),
    ).toEqual([
      ["not-verified", ref("latest"), indexDigest],
      ["moving-tag-untested", ref("latest"), oldLatest],
    ]);
    expect(before.blocked[0]!.message).toMatch(/never verified on workspace "chrome-testing"/);
    expect(before.blocked[1]).toMatchObject({ type: "pull", agent: "a2" });
    expect(before.blocked[1]!.message).toMatch(/registry's tag points at sha256:\w{12}, which is untested/);
    expect(before.actions.filter((a) => "image" in a && a.image === ref("latest"))).toEqual([]);
    const text = await kasmGitops([
      "plan",
      "--repo",
      repo.bare,
      "--branch",
      "main",
      "--path",
      "manifests",
      "--state-dir",
      state,
    ]);
    expect(text.stdout).toMatch(/! pull .*:latest on a2 \[moving-tag-untested\]/);
    const applied = await run("apply");
    expect(applied.code).toBe(0);
    expect(puts()).toBe(0);
    expect((await registryDigest("latest")).digest).toBe(oldLatest);
    expect(await productionDigests()).not.toContain(oldLatest);
    expect(await productionDigests()).toEqual([indexDigest]);
  });

  it("on a branch other than the promotion branch, lists the promotion as blocked and writes nothing", async () => {
    const feature = await plan("feature");
    expect(feature.actions.filter((a) => a.type === "promote")).toEqual([]);
    expect(feature.blocked.map((b) => b.reason)).toEqual(["not-on-promotion-branch", "moving-tag-untested"]);
    expect((await run("apply", "feature")).code).toBe(0);
    expect(puts()).toBe(0);
    expect((await registryDigest("latest")).digest).toBe(oldLatest);
  });

  it("once verified, points latest at the index digest and agents pull it in the same apply", async () => {
    // The first apply pulled 20261127 on the testing agent: that is the verification.
    expect(await localDigests(testingEngine.host, ref("20261127"))).toContain(indexDigest);
    const verified = await plan();
    expect(verified.actions.filter((a) => a.type === "promote")).toEqual([
      expect.objectContaining({ image: ref("latest"), currentDigest: oldLatest, targetDigest: indexDigest }),
    ]);
    const applied = await run("apply");
    expect(applied.code, applied.stdout).toBe(0);
    expect(puts()).toBe(1);
    const latest = await registryDigest("latest");
    expect(latest).toEqual({ digest: indexDigest, type: OCI_INDEX });
    expect(await localDigests(productionEngine.host, ref("latest"))).toContain(indexDigest);
  });

  it("repeating it is a no-op", async () => {
    const again = await plan();
    expect(again.actions).toEqual([]);
    expect(again.blocked).toEqual([]);
    expect((await run("apply")).code).toBe(0);
    expect(puts()).toBe(1);
  });
});
