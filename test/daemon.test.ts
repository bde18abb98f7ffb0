import { rename } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { followRepo, type RunningDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, localDigests, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[0]!;

type Status = {
  revision?: string;
  lastGoodRevision?: string;
  ready: boolean;
  lastError?: { message: string };
  lastCycle?: { result: string; trigger: string };
  agents: Record<string, { reachable: boolean; converged: boolean; imageBytes?: number }>;
};

/** One workspace at `image` on the lab's first engine. */
const manifests = (proxy: RegistryProxy, image: string) => ({
  "manifests/a.yaml": fleetYaml({
    registries: [{ name: "corp", host: proxy.host }],
    agents: [{ name: "a1", host: engine.host }],
    workspaces: [{ name: "app", image, registry: "corp" }],
  }),
});

async function pushed(proxy: RegistryProxy, repository: string, tag: string) {
  return (await pushRandomImage({ url: proxy.url, repository, tag })).digest;
}

/** A proxied registry, a repo whose one workspace runs `name:v1`, and a daemon following it. */
async function setUp(name: string, ...flags: string[]) {
  const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  const repo = await createTestRepo();
  await pushed(proxy, name, "v1");
  await repo.commit(manifests(proxy, `${proxy.host}/${name}:v1`), "v1");
  const daemon = await followRepo(repo.bare, ...flags);
  return { proxy, repo, daemon };
}

describe("kasm-gitops run (polling)", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let daemon: RunningDaemon;
  const name = uniqueRepo("daemon");
  const image = (tag: string) => `${proxy.host}/${name}:${tag}`;
  const holds = async (tag: string, digest: string) =>
    (await localDigests(engine.host, image(tag))).includes(digest);

  beforeAll(async () => {
    ({ proxy, repo, daemon } = await setUp(name, "--interval", "1s"));
  });
  afterAll(async () => {
    await daemon?.stop();
    await proxy.close();
  });

  it("becomes ready after the first good cycle, and pulls what is missing", async () => {
    await waitUntil("ready", async () => (await daemon.get("/readyz")).status === 200, 30_000, daemon.logs);
    const status = (await daemon.status()) as Status;
    expect(status.lastGoodRevision).toMatch(/^[0-9a-f]{40}$/);
    await waitUntil(
      "v1 pulled",
      async () => ((await daemon.status()) as Status).agents.a1?.converged === true,
      30_000,
      daemon.logs,
    );
    expect((await localDigests(engine.host, image("v1"))).length).toBe(1);
    // Each agent's image bytes (Docker's disk usage), in /status and as a metric to alert on.
    await waitUntil(
      "image bytes in /status",
      async () => (((await daemon.status()) as Status).agents.a1?.imageBytes ?? 0) > 0,
      30_000,
      daemon.logs,
    );
    expect((await daemon.get("/metrics")).body).toMatch(
      /^kasm_gitops_agent_image_bytes\{agent="a1"\} [1-9]\d*$/m,
    );
  });

  it("picks up a new commit and pulls it", async () => {
    const digest = await pushed(proxy, name, "v2");
    const revision = await repo.commit(manifests(proxy, image("v2")), "v2");
    await waitUntil("v2 pulled", () => holds("v2", digest), 30_000, daemon.logs);
    await waitUntil(
      "v2 in force",
      async () => ((await daemon.status()) as Status).lastGoodRevision === revision,
    );
    const metrics = (await daemon.get("/metrics")).body;
    expect(metrics).toMatch(/kasm_gitops_pulls_total\{agent="a1",result="ok"\} [1-9]/);
    expect(metrics).toContain(`kasm_gitops_applied_revision_info{revision="${revision}"} 1`);
    expect(metrics).toMatch(/kasm_gitops_cycles_total\{result="ok"\} [1-9]/);
  });

  it("refuses an invalid commit whole and keeps the last good revision in force", async () => {
    const good = ((await daemon.status()) as Status).lastGoodRevision;
    const bad = await repo.commit(
      {
        "manifests/a.yaml":
          "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: x}\nspec: {imag: 1}\n",
      },
      "broken",
    );
    await waitUntil(
      "refusal",
      async () => ((await daemon.status()) as Status).revision === bad,
      30_000,
      daemon.logs,
    );
    const status = (await daemon.status()) as Status;
    expect(status.lastGoodRevision).toBe(good);
    expect(status.lastError?.message).toContain(bad);
    expect(status.ready).toBe(true);
    expect(daemon.logs()).toMatch(/revision refused/);
    expect((await daemon.get("/readyz")).status).toBe(200);
    // The last good revision stays in force: its image stays converged.
    expect(status.agents.a1?.converged).toBe(true);
  });
  it("keeps the last good revision in force while Git is unreachable, and says so", async () => {
    const before = (await daemon.status()) as Status;
    const moved = `${repo.bare}.away`;
    await rename(repo.bare, moved);
    try {
      await waitUntil(
        "a git error in /status",
        async () =>
          /git|fetch|repository/i.test(((await daemon.status()) as Status).lastError?.message ?? "") &&
          ((await daemon.status()) as Status).lastCycle?.result === "failed",
        30_000,
        daemon.logs,
      );
      const status = (await daemon.status()) as Status;
      expect(status.lastGoodRevision).toBe(before.lastGoodRevision);
      expect(status.ready).toBe(true);
      expect(daemon.logs()).toMatch(/could not fetch the manifests/);
    } finally {
      await rename(moved, repo.bare);
    }
    await waitUntil(
      "recovered",
      async () => ((await daemon.status()) as Status).lastCycle?.result !== "failed",
      30_000,
      daemon.logs,
    );
  });
});

describe("kasm-gitops run (webhook, shutdown)", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let daemon: RunningDaemon;
  const name = uniqueRepo("hook");
  const image = (tag: string) => `${proxy.host}/${name}:${tag}`;

  beforeAll(async () => {
    // An hour between polls: only the webhook can explain a prompt cycle.
    ({ proxy, repo, daemon } = await setUp(name, "--interval", "1h", "--grace", "30s"));
    await waitUntil("ready", async () => (await daemon.get("/readyz")).status === 200, 30_000, daemon.logs);
    // The interval timer's first tick comes about a second after start; let that cycle pass first.
    await waitUntil("the first interval cycle done", async () => {
      const s = (await daemon.status()) as Status & { running?: unknown };
      return s.lastCycle?.trigger === "interval" && !s.running;
    });
  });
  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await proxy.close();
  });

  it("starts a cycle on a signed push webhook, and ignores a bad signature", async () => {
    const digest = await pushed(proxy, name, "v2");
    await repo.commit(manifests(proxy, image("v2")), "v2");
    expect(await daemon.push("main", "wrong-secret")).toBe(401);
    expect(await daemon.push("main")).toBe(202);
    await waitUntil(
      "v2 pulled",
      async () => (await localDigests(engine.host, image("v2"))).includes(digest),
      30_000,
      daemon.logs,
    );
    // The image lands before its cycle ends; the cycle that pulled it must be the webhook's.
    await waitUntil(
      "the webhook cycle recorded",
      async () => ((await daemon.status()) as Status).lastCycle?.trigger === "webhook",
      10_000,
      daemon.logs,
    );
  });

  it("drains on SIGTERM in the middle of a pull: the pull finishes, the process exits 0", async () => {
    const digest = await pushed(proxy, name, "v3");
    await repo.commit(manifests(proxy, image("v3")), "v3");
    proxy.reset();
    proxy.setBehaviour({ delayMs: 2500 });
    expect(await daemon.push("main")).toBe(202);
    await waitUntil(
      "a blob GET in flight",
      async () => proxy.requests.some((r) => r.kind === "blob-get" && r.status === 0),
      30_000,
      daemon.logs,
    );
    const code = await daemon.stop("SIGTERM");
    expect(code).toBe(0);
    expect(await localDigests(engine.host, image("v3"))).toContain(digest);
    expect(daemon.logs()).toMatch(/stopping: no new pulls/);
    expect(daemon.logs()).toMatch(/"msg":"stopped"/);
  });
});

describe("kasm-gitops run (per-workspace refresh schedules)", () => {
  it("re-checks a workspace on its own cron, and leaves default-schedule workspaces to the refresh schedule", {
    timeout: 200_000,
  }, async () => {
    const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    const fast = uniqueRepo("own-cron");
    const slow = uniqueRepo("default-schedule");
    await pushed(proxy, fast, "v1");
    await pushed(proxy, slow, "v1");
    const repo = await createTestRepo();
    // A daily cron at the same second of three minutes in a row, the first 15 s from now: once a minute at
    // most (more often is refused), and a later minute still comes if the first passes before the push.
    const times = [15, 75, 135].map((s) => new Date(Date.now() + s * 1000));
    const list = (part: (d: Date) => number) => [...new Set(times.map(part))].join(",");
    const cron = `${times[0]!.getSeconds()} ${list((d) => d.getMinutes())} ${list((d) => d.getHours())} * * *`;
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: proxy.host }],
          agents: [{ name: "a1", host: engine.host }],
          workspaces: [
            { name: "fast", image: `${proxy.host}/${fast}:v1`, registry: "corp", refresh: cron },
            { name: "slow", image: `${proxy.host}/${slow}:v1`, registry: "corp" },
          ],
        }),
      },
      "two schedules",
    );
    // Polling hourly and the global refresh once a year: only the workspace's own cron can move it.
    const daemon = await followRepo(repo.bare, "--interval", "1h", "--refresh", "0 0 1 1 *");
    try {
      await waitUntil("ready", async () => (await daemon.get("/readyz")).status === 200, 30_000, daemon.logs);
      await waitUntil(
        "converged",
        async () => ((await daemon.status()) as Status).agents.a1?.converged === true,
        30_000,
        daemon.logs,
      );
      const slowBefore = await localDigests(engine.host, `${proxy.host}/${slow}:v1`);
      proxy.reset();
      const fastMoved = await pushed(proxy, fast, "v1");
      await pushed(proxy, slow, "v1");
      await waitUntil(
        "fast re-pulled",
        async () => (await localDigests(engine.host, `${proxy.host}/${fast}:v1`)).includes(fastMoved),
        150_000,
        daemon.logs,
      );
      // The workspace's own refresh has run by now; it did not ask for the default-schedule tag.
      expect(await localDigests(engine.host, `${proxy.host}/${slow}:v1`)).toEqual(slowBefore);
      const heads = proxy.requests.filter((r) => r.kind === "manifest-head" && r.repository === slow);
      expect(heads).toEqual([]);
      expect(
        proxy.requests.filter((r) => r.kind === "manifest-head" && r.repository === fast).length,
      ).toBeGreaterThan(0);
    } finally {
      await daemon.stop();
      await proxy.close();
    }
  });
});
