import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createFileLedger } from "../src/adapters/ledger-file.js";
import { parseImageReference } from "../src/core/image/reference.js";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { BIN, inRepo, lines, repoArgs } from "./helpers/cli.js";
import { fleetYaml, localDigests, privateFleet, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";
import { inTerminal } from "./helpers/terminal.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];

/** A manifest repo on one proxied registry; `workspaces` are image names under a unique prefix. */
async function fleet(
  proxy: RegistryProxy,
  images: string[],
  agents = [{ name: "a1", host: e1.host, maxConcurrentPulls: 2 }],
): Promise<{ repo: TestRepo; state: string; refs: string[] }> {
  const prefix = uniqueRepo("app");
  const refs = images.map((name) => `${proxy.host}/${prefix}-${name}:v1`);
  const repo = await createTestRepo();
  await repo.commit(
    {
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: proxy.host }],
        agents,
        workspaces: images.map((name, i) => ({ name: `ws-${name}`, image: refs[i]!, registry: "corp" })),
      }),
    },
    "fleet",
  );
  return { repo, state: await stateDir(), refs };
}

/** Pushes a random image under a `proxy.host/repository:tag` reference of the fleet. */
async function pushRef(proxy: RegistryProxy, ref: string) {
  const { repository, tag } = parseImageReference(ref);
  return pushRandomImage({ url: proxy.url, repository, tag: tag! });
}

const apply = (repo: TestRepo, state: string, ...extra: string[]) =>
  inRepo("apply", repo.bare, state, ["--json", ...extra]);
const planJson = async (repo: TestRepo, state: string, ...extra: string[]) => {
  const result = await inRepo("plan", repo.bare, state, ["--json", ...extra]);
  expect(result.code).not.toBe(1);
  return JSON.parse(result.stdout) as Plan;
};

describe("kasm-gitops apply", () => {
  let proxy: RegistryProxy;
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("pulls 6 images on one agent never more than 2 at a time, then a second plan is empty", async () => {
    const names = ["a", "b", "c", "d", "e", "f"];
    const { repo, state, refs } = await fleet(proxy, names);
    for (const ref of refs) await pushRef(proxy, ref);
    proxy.reset();
    proxy.setBehaviour({ delayMs: 400 });
    try {
      const result = await apply(repo, state);
      expect(result.code).toBe(0);
      const done = lines(result.stdout).filter((l) => l.event === "done");
      expect(done.map((l) => l.status)).toEqual(Array(6).fill("ok"));
      // The limit holds at the registry, and it was used: two pulls overlapped.
      expect(proxy.stats().maxRepositoriesInFlight).toBe(2);
      expect(lines(result.stdout).at(-1)).toMatchObject({
        event: "summary",
        ok: 6,
        failed: 0,
        converged: true,
      });
    } finally {
      proxy.setBehaviour({ delayMs: 0 });
    }
    for (const ref of refs) expect(await localDigests(e1.host, ref)).toHaveLength(1);
    const again = await planJson(repo, state);
    expect(again.actions).toEqual([]);
    // The ledger records every completed pull with its revision.
    const ledger = await createFileLedger(state).entries();
    expect(ledger.filter((e) => !e.rebuilt).map((e) => e.revision)).toEqual(Array(6).fill(again.revision));
  });

  it("waits out a 429 with Retry-After for the whole registry and converges", async () => {
    const { repo, state, refs } = await fleet(proxy, ["x", "y"]);
    for (const ref of refs) await pushRef(proxy, ref);
    const plan = await planJson(repo, state);
    const planFile = join(state, "plan.json");
    await writeFile(planFile, JSON.stringify(plan));
    proxy.reset();
    // A rate-limit window like a real registry's: the engine's first manifest GET opens it, and every
    // manifest request (the engine's, and the HEAD kasm-gitops sends to learn the Retry-After the engine
    // does not pass on) gets 429 until it closes, 1.5 s later.
    let windowEnds = 0;
    proxy.setBehaviour({
      inject: [
        {
          match: (r) => {
            if (r.kind === "manifest-get" && windowEnds === 0) windowEnds = Date.now() + 1500;
            return (r.kind === "manifest-get" || r.kind === "manifest-head") && Date.now() < windowEnds;
          },
          status: 429,
          headers: { "retry-after": "2" },
          times: 1000,
        },
      ],
    });
    try {
      const result = await apply(repo, state, planFile);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const events = lines(result.stdout);
      const paused = events.filter((l) => l.event === "registry-paused").map((l) => l.ms);
      expect(paused.length).toBeGreaterThanOrEqual(1);
      expect(new Set(paused)).toEqual(new Set([2000]));
      expect(events.filter((l) => l.event === "done").map((l) => l.status)).toEqual(["ok", "ok"]);
      const refused = proxy.requests.filter((r) => r.injected && r.status === 429);
      expect(refused.some((r) => r.kind === "manifest-get")).toBe(true);
      expect(refused.some((r) => r.kind === "manifest-head")).toBe(true);
      // Nothing was asked of the registry while it was paused: the next request came after the window.
      const lastRefused = Math.max(...refused.map((r) => r.time));
      const retried = proxy.requests.filter(
        (r) => !r.injected && r.kind.startsWith("manifest") && r.time > lastRefused,
      );
      expect(retried.length).toBeGreaterThan(0);
    } finally {
      proxy.setBehaviour({ inject: [] });
    }
  });

  it("records a failed pull, carries on with the others, and exits 1", async () => {
    const { repo, state, refs } = await fleet(proxy, ["ok", "gone"]);
    await pushRef(proxy, refs[0]!);
    const result = await apply(repo, state);
    expect(result.code).toBe(1);
    const done = lines(result.stdout).filter((l) => l.event === "done");
    expect(
      done.map((l) => `${String(l.image).endsWith("ok:v1") ? "ok" : "gone"} ${l.status}`).sort(),
    ).toEqual(["gone failed", "ok ok"]);
    const failed = done.find((l) => l.status === "failed")!;
    expect(failed.error).toMatchObject({ code: "pull-failed" });
  });

  it("applies a saved plan exactly, and refuses it once a digest moved", async () => {
    const { repo, state, refs } = await fleet(
      proxy,
      ["p"],
      [
        { name: "a1", host: e1.host, maxConcurrentPulls: 2 },
        { name: "a2", host: e2.host, maxConcurrentPulls: 2 },
      ],
    );
    await pushRef(proxy, refs[0]!);
    const planFile = join(state, "plan.json");
    const saved = await inRepo("plan", repo.bare, state, ["--out", planFile, "--agent", "a1"]);
    expect(saved.code).toBe(0);
    const exact = await apply(repo, state, planFile);
    expect(exact.code).toBe(0);
    expect(
      lines(exact.stdout)
        .filter((l) => l.event === "done")
        .map((l) => l.agent),
    ).toEqual(["a1"]);

    const stale = await inRepo("plan", repo.bare, state, ["--out", planFile]);
    expect(stale.code).toBe(0);
    await pushRef(proxy, refs[0]!);
    const refused = await apply(repo, state, planFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/stale.*\n.*is now sha256:[0-9a-f]{64}, the plan expected sha256:/);
    expect(refused.stdout).not.toMatch(/"event":"done"/);
  });

  it("refuses a saved plan once the branch moved", async () => {
    const { repo, state } = await fleet(proxy, ["r"]);
    const planFile = join(state, "plan.json");
    await inRepo("plan", repo.bare, state, ["--out", planFile, "--no-refresh"]);
    await repo.commit({ "manifests/readme.txt": "moved\n" }, "move the branch");
    const refused = await apply(repo, state, planFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/main moved from [0-9a-f]{12} to [0-9a-f]{12}/);
  });
});

describe("apply with an htpasswd registry", () => {
  it("pulls with credentials from the environment and prints the password nowhere", async () => {
    const fleet = await privateFleet(lab.registries.auth, e2.host);
    const result = await inRepo("apply", fleet.repo.bare, fleet.state, ["--json", "--log-level", "debug"], {
      env: { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password },
    });
    expect(result.code).toBe(0);
    expect(await localDigests(e2.host, fleet.image)).toEqual([fleet.digest]);
    expect(result.stdout + result.stderr).not.toContain(fleet.password);
    expect(await readFile(join(fleet.state, "ledger.jsonl"), "utf8")).not.toContain(fleet.password);
  });
});

describe("apply on a terminal", () => {
  it("shows the plan, live lines per agent and a summary instead of JSON lines", async () => {
    const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    try {
      const { repo, state, refs } = await fleet(proxy, ["tty"]);
      await pushRef(proxy, refs[0]!);
      // A pseudo-terminal of a known width, as an administrator's shell has (an unknown width gets plain lines).
      const { output: stdout } = await inTerminal(repoArgs("apply", repo.bare, state), 100);
      expect(stdout).toMatch(/agent a1/);
      expect(stdout).toContain("\x1b[2K  a1: "); // a live line, redrawn in place
      expect(stdout).toMatch(/a1: 1 done, 0 failed, 0 queued/);
      expect(stdout).toMatch(/Apply complete: 1 pulled, 0 failed\./);
      expect(stdout).not.toMatch(/"event":/);
    } finally {
      await proxy.close();
    }
  });
});

describe("apply and SIGTERM", () => {
  it("lets in-flight pulls finish, starts no new one, and exits 1 as not converged", async () => {
    const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    try {
      const { repo, state, refs } = await fleet(
        proxy,
        ["s1", "s2", "s3"],
        [{ name: "a1", host: e1.host, maxConcurrentPulls: 1 }],
      );
      for (const ref of refs) await pushRef(proxy, ref);
      proxy.setBehaviour({ delayMs: 1500 });
      const child = spawn(process.execPath, [BIN, ...repoArgs("apply", repo.bare, state, ["--json"])]);
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      while (!proxy.requests.some((r) => r.kind === "blob-get" && r.status === 0))
        await new Promise((r) => setTimeout(r, 50));
      child.kill("SIGTERM");
      expect(await exited).toBe(1);
      const done = lines(stdout).filter((l) => l.event === "done");
      expect(done.map((l) => l.status).sort()).toEqual(["ok", "skipped", "skipped"]);
      const pulled = done.find((l) => l.status === "ok")!;
      expect((await localDigests(e1.host, String(pulled.image))).length).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});
