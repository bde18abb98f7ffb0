import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, localDigests, promotionPairYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];

type Status = {
  revision?: string;
  lastGoodRevision?: string;
  ready: boolean;
  state: string;
  reasons: string[];
  running?: unknown;
  lastCycle?: { trigger: string };
};

/** Sum of a counter's series whose line starts with `prefix`. */
const total = (body: string, prefix: string) =>
  body
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);

describe("the daemon's hardest paths", () => {
  let proxy: RegistryProxy;
  const running: RunningDaemon[] = [];
  const start = async (repo: TestRepo, state: string, ...flags: string[]) => {
    const [, ...args] = repoArgs("run", repo.bare, state, flags);
    const daemon = await startDaemon(args);
    running.push(daemon);
    return daemon;
  };
  const status = async (d: RunningDaemon) => (await d.status()) as unknown as Status;

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  });
  afterAll(async () => {
    for (const d of running) await d.stop("SIGKILL");
    await proxy.close();
  });

  it("restarted on an invalid branch tip, restores the last good revision from the state dir and reconciles it", async () => {
    const name = uniqueRepo("restart");
    const image = `${proxy.host}/${name}:v1`;
    const { digest } = await pushRandomImage({ url: proxy.url, repository: name, tag: "v1" });
    const repo = await createTestRepo();
    const good = await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: proxy.host }],
          agents: [{ name: "a1", host: e1.host }],
          workspaces: [{ name: "app", image, registry: "corp" }],
        }),
      },
      "good",
    );
    const state = await stateDir();
    const first = await start(repo, state, "--interval", "1s");
    await waitUntil("converged", async () => (await status(first)).state === "converged", 30_000, first.logs);
    expect(await first.stop()).toBe(0);

    // While it is down: the tip turns invalid, and the image disappears from the agent.
    const bad = await repo.commit(
      {
        "manifests/a.yaml":
          "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: x}\nspec: {imag: 1}\n",
      },
      "broken",
    );
    await new Docker({ socketPath: e1.host.replace("unix://", "") }).getImage(image).remove({ force: true });
    expect(await localDigests(e1.host, image)).toEqual([]);

    const second = await start(repo, state, "--interval", "1s");
    await waitUntil(
      "the image pulled again from the saved revision",
      async () =>
        (await localDigests(e1.host, image)).includes(digest) && (await status(second)).state !== "starting",
      30_000,
      second.logs,
    );
    const s = await status(second);
    expect(s.revision).toBe(bad);
    expect(s.lastGoodRevision).toBe(good);
    // The fleet is reconciled, but the branch tip is refused: degraded, with the reason.
    expect(s.state).toBe("degraded");
    expect(s.reasons.join("\n")).toContain(`revision ${bad} refused`);
    // Ready all the same: the last good revision read back from the state dir is in force.
    expect(s.ready).toBe(true);
    expect((await second.get("/readyz")).status).toBe(200);
    expect(second.logs()).toMatch(/using the last good revision from the state dir/);
  });

  it("coalesces webhooks that arrive during a cycle into exactly one follow-up cycle", async () => {
    const name = uniqueRepo("coalesce");
    const image = (tag: string) => `${proxy.host}/${name}:${tag}`;
    await pushRandomImage({ url: proxy.url, repository: name, tag: "v1" });
    const repo = await createTestRepo();
    const yaml = (tag: string) =>
      fleetYaml({
        registries: [{ name: "corp", host: proxy.host }],
        agents: [{ name: "a1", host: e2.host }],
        workspaces: [{ name: "app", image: image(tag), registry: "corp" }],
      });
    await repo.commit({ "manifests/a.yaml": yaml("v1") }, "v1");
    // An hour between polls: only webhooks start cycles once the first interval tick has passed.
    const daemon = await start(repo, await stateDir(), "--interval", "1h");
    await waitUntil(
      "start and first interval cycles done",
      async () => {
        const s = await status(daemon);
        return s.lastCycle?.trigger === "interval" && !s.running;
      },
      30_000,
      daemon.logs,
    );
    const cycles = async () => total((await daemon.get("/metrics")).body, "kasm_gitops_cycles_total{");
    const before = await cycles();
    await pushRandomImage({ url: proxy.url, repository: name, tag: "v2" });
    await repo.commit({ "manifests/a.yaml": yaml("v2") }, "v2");
    proxy.setBehaviour({ delayMs: 1500 });
    try {
      expect(await daemon.push()).toBe(202);
      await waitUntil("a webhook cycle running", async () => Boolean((await status(daemon)).running), 10_000);
      const during = await Promise.all([1, 2, 3, 4, 5].map(() => daemon.push()));
      expect(during).toEqual([202, 202, 202, 202, 202]);
      expect((await status(daemon)).running).toBeTruthy();
      await waitUntil(
        "two cycles finished",
        async () => (await cycles()) >= before + 2 && !(await status(daemon)).running,
        30_000,
        daemon.logs,
      );
    } finally {
      proxy.setBehaviour({ delayMs: 0 });
    }
    // Nothing else is queued: a second later, still exactly the webhook cycle and one follow-up.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await cycles()).toBe(before + 2);
    expect((await status(daemon)).lastCycle?.trigger).toBe("webhook");
  });

  it("counts a blocked promotion under the blocked label, once, not once per cycle", async () => {
    const name = uniqueRepo("blocked");
    const ref = (tag: string) => `${proxy.host}/${name}:${tag}`;
    await pushRandomImage({ url: proxy.url, repository: name, tag: "new" });
    await pushRandomImage({ url: proxy.url, repository: name, tag: "old" });
    const repo = await createTestRepo();
    // The testing agent is drained, so the new digest was never verified: the promotion is blocked.
    const yaml = promotionPairYaml({
      registryHost: proxy.host,
      testingHost: e1.host,
      productionHost: e2.host,
      testingImage: ref("new"),
      productionImage: ref("new"),
    }).replace(
      /(metadata: \{name: a1, [^\n]*\nspec:\n {2}docker: \{host: "[^"]*"\})/,
      "$1\n  enabled: false",
    );
    expect(yaml).toContain("enabled: false");
    await repo.commit({ "manifests/a.yaml": yaml }, "release");
    const daemon = await start(repo, await stateDir(), "--interval", "1s");
    const blocked = async () =>
      total((await daemon.get("/metrics")).body, 'kasm_gitops_promotions_total{result="blocked"}');
    await waitUntil("blocked counted", async () => (await blocked()) === 1, 30_000, daemon.logs);
    const cycles = async () => total((await daemon.get("/metrics")).body, "kasm_gitops_cycles_total{");
    const now = await cycles();
    // A webhook cycle re-plans the same revision; the blocked promotion is not counted again.
    expect(await daemon.push()).toBe(202);
    await waitUntil("two more cycles", async () => (await cycles()) >= now + 2, 30_000, daemon.logs);
    expect(await blocked()).toBe(1);
    expect(daemon.logs()).toMatch(/never verified on workspace/);
  });
});
