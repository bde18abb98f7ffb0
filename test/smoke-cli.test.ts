/**
 * `kasm-gitops smoke WORKSPACE` against the stand-in, whose sessions are real containers on the lab's
 * engines: a good image passes, one whose container exits fails with what Kasm reported, a session stuck in
 * starting times out, a kill during the hold leaves a session the next run destroys first, and a key without
 * USERS_AUTH_SESSION is a clear error. No session is left in the stand-in after any of them. One fleet,
 * applied once, serves every test. Then the cycle's tests and the gate: apply tests a new digest after its
 * switch, a SIGTERM during the hold destroys the session, and `promote` is refused smoke-missing and
 * smoke-failed (naming what Kasm said) until the digest passes.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, onTestFinished } from "vitest";
import { startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { waitFor } from "../src/lab/processes.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { startRegistryProxy } from "../src/lab/registry-proxy.js";
import { BIN, inRepo, kasmGitops, lines, repoArgs } from "./helpers/cli.js";
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
  // Kasm's agents report what the lab engines now hold; each runs its sessions there. Their live reports are
  // frozen first, so what a test seeds is what Kasm sees (a live report lags a pull by up to its period).
  for (const hostname of ["a1", "a2"]) kit.kasm.freezeReports(hostname);
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
    // The agents' reports are frozen (beforeAll): they now report nothing.
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
    // Live reports here, as a real Kasm's agents give them: the new image shows up a moment after its pull,
    // and the smoke asks again until it does.
    for (const hostname of ["a1", "a2"]) kit.kasm.freezeReports(hostname, false);
    onTestFinished(() => {
      for (const hostname of ["a1", "a2"]) kit.kasm.freezeReports(hostname, true);
    });
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

describe("a stop during the cycle's smoke test, and the promote command's gate", () => {
  const g = {} as { image: (tag: "good" | "base") => string };
  const IDENTITY = {
    GIT_AUTHOR_NAME: "Admin",
    GIT_AUTHOR_EMAIL: "admin@example.invalid",
    GIT_COMMITTER_NAME: "Admin",
    GIT_COMMITTER_EMAIL: "admin@example.invalid",
  };
  /** gate (testing, smoke tests) and gate-prod (promoted from it by the promote command), one repository. */
  const commit = (smoke: { timeout: string; hold: string }) =>
    f.repo.commit(
      {
        "manifests/a.yaml": yaml(
          [
            workspace("gate", g.image("good"), smoke),
            workspace("gate-prod", g.image("base"), undefined, { from: "gate", movingTags: [] }),
          ],
          { smokeUser: "smoke" },
        ),
      },
      `gate with smoke ${JSON.stringify(smoke)}`,
    );
  const promote = () =>
    kasmGitops(["promote", "gate-prod", "--json", "--path", "manifests", "--state-dir", f.state], {
      cwd: f.repo.work,
      env: { ...env(), ...IDENTITY },
    });

  beforeAll(async () => {
    const lab = inject("lab");
    const repository = uniqueRepo("smoke-gate");
    for (const tag of ["good", "base"] as const)
      await pushRandomImage({ url: kit.proxy.url, repository, tag }, undefined, "stays");
    g.image = (tag) => `${kit.proxy.host}/${repository}:${tag}`;
    kit.kasm.seed({
      servers: lab.engines.slice(0, 2).map((e, i) => ({
        hostname: `a${i + 1}`,
        engine: e.host,
        docker_images: { x: { tags: [g.image("good"), g.image("base")] } },
      })),
    });
  });

  it("SIGTERM to apply during the hold destroys the session; promote is refused smoke-missing, then smoke-failed naming Kasm's message, then allowed after a pass", async () => {
    await commit({ timeout: "20s", hold: "60s" });
    const child = spawn(process.execPath, [BIN, ...repoArgs("apply", f.repo.bare, f.state, ["--json"])], {
      env: { ...process.env, ...env() },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once("exit", (code, signal) => resolve([code, signal])),
    );
    await waitFor(
      "the cycle's smoke session running",
      async () => kit.kasm.state().kasms.some((k) => k.operational_status === "running"),
      30_000,
    );
    child.kill("SIGTERM");
    // The process ends by itself (the signal is handled), after destroying the session; no verdict is kept.
    expect(await exited).toEqual([1, null]);
    expect(kit.kasm.state().kasms).toEqual([]);
    expect(kit.kasm.calls().filter((c) => c.fn === "destroy_kasm")).toHaveLength(1);
    const done = lines(out).filter((l) => l.event === "done" && l.type === "smoke");
    expect(done).toEqual([
      expect.objectContaining({
        workspace: "gate",
        status: "failed",
        error: expect.objectContaining({ code: "stopped" }),
      }),
    ]);
    const state = await kept();
    expect(state.pending).toEqual([]);
    expect(Object.keys(state.results).filter((k) => k.startsWith("gate@"))).toEqual([]);

    // The digest was pulled on gate's agents (verified) but has no smoke verdict: promote refuses.
    const missing = await promote();
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /cannot promote workspace "gate-prod" to .*:good: digest sha256:\w+ has no smoke test in Kasm of workspace "gate" yet/,
    );

    // A session Kasm keeps in starting: the test by hand fails, and promote names what Kasm said.
    await commit({ timeout: "2s", hold: "1s" });
    const gate = kit.kasm
      .state()
      .images.find((i) => (i.notes ?? "").split("\n").includes("managed-by: kasm-gitops/gate"))!.image_id;
    kit.kasm.holdSessions(gate, true);
    try {
      expect((await smoke("gate")).code).toBe(1);
    } finally {
      kit.kasm.holdSessions(gate, false);
    }
    const failed = await promote();
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /cannot promote workspace "gate-prod" to .*:good: the smoke test of digest sha256:\w+ in Kasm \(workspace "gate"\) failed: no running session within 2s: Kasm still says "This session is currently starting\."/,
    );

    // Run again by hand, it passes: promote writes the commit.
    const run = await smoke("gate");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: "pass", workspace: "gate" });
    const allowed = await promote();
    expect(allowed.stderr).toBe("");
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      workspace: "gate-prod",
      from: "gate",
      image: g.image("good"),
      digest: JSON.parse(run.stdout).digest,
    });
  });
});
