/**
 * `kasm-gitops smoke WORKSPACE` against the stand-in, whose sessions are real containers on the lab's
 * engines: a good image passes, one whose container exits fails with what Kasm reported, a session stuck in
 * starting times out, a kill during the hold leaves a session the next run destroys first, and a key without
 * USERS_AUTH_SESSION is a clear error. No session is left in the stand-in after any of them. One fleet,
 * applied once, serves every test.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { startRegistryProxy } from "../src/lab/registry-proxy.js";
import { BIN, inRepo, repoArgs } from "./helpers/cli.js";
import { stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";
import { apply, env, kit, yaml } from "./helpers/kasm-sync.js";

const f = {} as { repo: TestRepo; state: string; images: Record<"stays" | "exits", string> };
const workspace = (
  name: string,
  image: string,
  smoke?: { timeout: string; hold: string },
  promotion?: { from: string; movingTags: string[] },
) => ({
  name,
  image,
  registry: "corp",
  labels: { ring: "testing" },
  groups: ["qa"],
  ...(smoke ? { smoke } : {}),
  ...(promotion ? { promotion } : {}),
});
const four = (images: Record<"stays" | "exits", string>, smoke: boolean) => [
  workspace("chrome", images.stays, smoke ? { timeout: "20s", hold: "2s" } : undefined),
  workspace("broken", images.exits, smoke ? { timeout: "20s", hold: "2s" } : undefined),
  workspace("long", images.stays, smoke ? { timeout: "20s", hold: "60s" } : undefined),
  workspace("stuck", images.stays, smoke ? { timeout: "3s", hold: "1s" } : undefined),
];

beforeAll(async () => {
  const lab = inject("lab");
  kit.proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  kit.kasm = await startKasmStandIn({ seed: { groups: [{ name: "qa" }], users: [{ username: "smoke" }] } });
  const images = {} as Record<"stays" | "exits", string>;
  for (const program of ["stays", "exits"] as const) {
    const repository = uniqueRepo(`smoke-${program}`);
    await pushRandomImage({ url: kit.proxy.url, repository, tag: "v1" }, undefined, program);
    images[program] = `${kit.proxy.host}/${repository}:v1`;
  }
  Object.assign(f, { repo: await createTestRepo(), state: await stateDir(), images });
  // Applied without smoke tests (the cycle would start them), then Git asks for them: the command's tests.
  await f.repo.commit({ "manifests/a.yaml": yaml(four(images, false), { smokeUser: "smoke" }) }, "four");
  expect((await apply(f as never)).code).toBe(0);
  await f.repo.commit(
    { "manifests/a.yaml": yaml(four(images, true), { smokeUser: "smoke" }) },
    "four workspaces with smoke tests",
  );
  // Kasm's agents report what the lab engines now hold; each runs its sessions there.
  kit.kasm.seed({
    servers: lab.engines.slice(0, 2).map((e, i) => ({
      hostname: `a${i + 1}`,
      engine: e.host,
      docker_images: { x: { tags: [images.stays, images.exits] } },
    })),
  });
});
afterAll(async () => {
  await kit.kasm?.close();
  await kit.proxy?.close();
});
afterEach(() => {
  // No session outlives its test.
  expect(kit.kasm.state().kasms).toEqual([]);
  kit.kasm.clearCalls();
});

const smoke = (name: string) => inRepo("smoke", f.repo.bare, f.state, [name, "--json"], { env: env() });
const kept = async () =>
  JSON.parse(await readFile(join(f.state, "smoke.json"), "utf8")) as {
    results: Record<string, { result: string; message: string; server?: string; digest: string }>;
    pending: { kasmId: string }[];
  };

describe("kasm-gitops smoke", () => {
  it("a good image: the session runs on an agent for the hold, is destroyed, and the pass is kept by digest", async () => {
    const run = await smoke("chrome");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      result: "pass",
      workspace: "chrome",
      message: expect.stringMatching(/^ran for 2s/),
    });
    expect(result.digest).toMatch(/^sha256:/);
    expect(kit.kasm.state().servers.map((s) => s.server_id)).toContain(result.server);
    const state = await kept();
    expect(state.results[`chrome@${result.digest}`]).toMatchObject({ result: "pass" });
    expect(state.pending).toEqual([]);
    const calls = kit.kasm.calls().map((c) => c.fn);
    expect(calls.filter((fn) => fn === "request_kasm")).toHaveLength(1);
    expect(calls.at(-1)).toBe("destroy_kasm");
  });

  it("an image whose container exits: fail, naming what Kasm reported, and the session destroyed", async () => {
    const run = await smoke("broken");
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      result: "fail",
      message: "the session stopped before it ran (Kasm reports it stopped)",
    });
  });

  it("a session stuck in starting times out and is destroyed", async () => {
    const stuck = kit.kasm.state().images.find((i) => i.notes?.includes("kasm-gitops/stuck"))!.image_id;
    kit.kasm.holdSessions(stuck, true);
    const run = await smoke("stuck");
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).message).toBe(
      'no running session within 3s: Kasm still says "This session is currently starting."',
    );
  });

  it("no agent holding the image: asked again until the timeout (reports lag pulls), then fail with Kasm's No resources", async () => {
    const servers = kit.kasm.state().servers;
    // The agents stop reporting what their engines hold, then report nothing.
    for (const s of servers) kit.kasm.freezeReports(s.hostname, true);
    kit.kasm.seed({ servers: servers.map((s) => ({ hostname: s.hostname, docker_images: {} })) });
    try {
      kit.kasm.clearCalls();
      // "stuck" allows 3s: a request each second, refused each time.
      const run = await smoke("stuck");
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout).message).toMatch(
        /^Kasm did not start a session: No resources are available to create the requested Kasm/,
      );
      expect(kit.kasm.calls().filter((c) => c.fn === "request_kasm").length).toBeGreaterThan(1);
      expect(kit.kasm.state().kasms).toEqual([]);
    } finally {
      kit.kasm.seed({ servers: servers.map(({ zone_id: _z, ...s }) => s) });
      for (const s of servers) kit.kasm.freezeReports(s.hostname, false);
    }
  });

  it("a kill during the hold leaves a session; the next run destroys it first", async () => {
    const child = spawn(process.execPath, [BIN, ...repoArgs("smoke", f.repo.bare, f.state, ["long"])], {
      env: { ...process.env, ...env() },
      stdio: "ignore",
    });
    await waitFor(
      "the smoke session running",
      async () => kit.kasm.state().kasms.some((k) => k.operational_status === "running"),
      30_000,
    );
    const left = kit.kasm.state().kasms[0]!.kasm_id;
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect((await kept()).pending).toEqual([expect.objectContaining({ kasmId: left })]);
    const run = await smoke("chrome");
    expect(run.stderr).toContain(`destroyed 1 session(s) an earlier run left: ${left}`);
    expect(run.code).toBe(0);
    expect((await kept()).pending).toEqual([]);
  });

  it("a key without USERS_AUTH_SESSION: a clear error naming the permissions, no session, no verdict", async () => {
    const before = await kept();
    kit.kasm.setPermissions(["USER", "USERS_VIEW", "SESSIONS_VIEW"]);
    try {
      const run = await smoke("chrome");
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(
        /request_kasm: unauthorized \(HTTP 401\): the API key lacks a permission smoke tests need.*grant it USER and USERS_AUTH_SESSION/,
      );
      expect(await kept()).toEqual(before);
    } finally {
      kit.kasm.setPermissions(undefined);
    }
  });
});

describe("the cycle's smoke tests and the promotion gate", () => {
  it("apply tests a new digest after its switch, then promotes it; a failed digest's promotion is blocked naming Kasm's message", async () => {
    const lab = inject("lab");
    const repository = uniqueRepo("smoke-fresh");
    await pushRandomImage({ url: kit.proxy.url, repository, tag: "v1" }, undefined, "stays");
    const fresh = `${kit.proxy.host}/${repository}:v1`;
    kit.kasm.seed({
      servers: lab.engines.slice(0, 2).map((e, i) => ({
        hostname: `a${i + 1}`,
        engine: e.host,
        docker_images: { x: { tags: [f.images.stays, f.images.exits, fresh] } },
      })),
    });
    const hold = { timeout: "20s", hold: "2s" };
    const manifests = yaml(
      [
        workspace("broken", f.images.exits, hold),
        workspace("fresh", fresh, hold),
        workspace("fresh-prod", fresh, undefined, { from: "fresh", movingTags: ["latest"] }),
        workspace("broken-prod", f.images.exits, undefined, { from: "broken", movingTags: ["latest"] }),
      ],
      { smokeUser: "smoke" },
    );
    await f.repo.commit({ "manifests/a.yaml": manifests }, "a new image with smoke tests, and promotions");
    const plan = async () => {
      const run = await inRepo("plan", f.repo.bare, f.state, ["--json"], { env: env() });
      return JSON.parse(run.stdout) as {
        actions: { type: string; workspace?: string; digest?: string; image?: string }[];
        blocked: { type: string; workspace?: string; reason: string; message: string }[];
      };
    };
    const before = await plan();
    expect(before.actions.filter((a) => a.type === "smoke").map((a) => a.workspace)).toEqual(["fresh"]);
    expect(
      before.blocked
        .filter((b) => b.type === "promote")
        .map((b) => `${b.workspace} ${b.reason}`)
        .sort(),
    ).toEqual(["broken-prod smoke-failed", "fresh-prod not-verified"]);

    await apply(f as never);
    const passed = Object.values((await kept()).results).filter((r) => r.result === "pass");
    const digest = before.actions.find((a) => a.type === "smoke")!.digest!;
    expect(passed.map((r) => r.digest)).toContain(digest);
    expect((await kept()).results[`fresh@${digest}`]).toMatchObject({ result: "pass" });

    const after = await plan();
    expect(after.actions.filter((a) => a.type === "smoke")).toEqual([]);
    expect(after.actions.filter((a) => a.type === "promote").map((a) => a.workspace)).toEqual(["fresh-prod"]);
    const blocked = after.blocked.filter((b) => b.type === "promote");
    expect(blocked.map((b) => b.workspace)).toEqual(["broken-prod"]);
    expect(blocked[0]!.message).toContain("the session stopped before it ran (Kasm reports it stopped)");
    // The promotion is made; the blocked one keeps apply from reporting a converged fleet (exit 1).
    expect((await apply(f as never)).code).toBe(1);
    expect((await plan()).actions.filter((a) => a.type === "promote")).toEqual([]);
  });
});
