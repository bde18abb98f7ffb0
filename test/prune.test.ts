import { readFile, unlink } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import { dockerConnection } from "../src/adapters/docker-host.js";
import { createFileLedger, ledgerPath } from "../src/adapters/ledger-file.js";
import { parseImageReference } from "../src/core/image/reference.js";
import type { Plan, RemoveAction } from "../src/core/plan/types.js";
import { countsAsFailure, executeRemovals } from "../src/engine/remove-images.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { inRepo, type Line, lines, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, prePull, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[1]!;
const docker = new Docker(dockerConnection(engine.host));
const agent = createDockerAgent({ name: "a1", host: engine.host });

/** Image ids on the engine by tag or repo digest (short names as Docker lists them). */
async function idOf(reference: string): Promise<string | undefined> {
  const images = await agent.listImages();
  return images.find((i) => i.repoTags.includes(reference) || i.repoDigests.includes(reference))?.id;
}

/** A container created (never started) from an image: a stopped Kasm session. */
const createStopped = (image: string) =>
  docker.createContainer({ Image: image, Cmd: ["/none"], HostConfig: { NetworkMode: "none" } });

describe("prune on a seeded agent (real engine)", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let state: string;
  let app: string;
  let service: string;
  const ids: Record<string, string> = {};
  const digests: Record<string, string> = {};
  const setSettings = (prune?: Record<string, unknown>) =>
    repo.commit(
      {
        "manifests/settings.yaml": fleetYaml({
          registries: [],
          agents: [],
          workspaces: [],
          settings: { maxConcurrentPulls: 2, ...(prune ? { prune } : {}) },
        }),
      },
      `prune ${JSON.stringify(prune)}`,
    );
  const release = (tag: string) =>
    repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: proxy.host }],
          agents: [{ name: "a1", host: engine.host }],
          workspaces: [{ name: "app", image: `${app}:${tag}`, registry: "corp" }],
        }),
      },
      `release ${tag}`,
    );
  const apply = async () => {
    const result = await inRepo("apply", repo.bare, state, ["--json"]);
    expect(result.stderr).toBe("");
    return { code: result.code, lines: lines(result.stdout) };
  };
  const removedIds = (out: { lines: Line[] }) =>
    out.lines
      .filter((l) => l.event === "done" && l.type === "remove" && l.status === "ok")
      .map((l) => l.id as string)
      .sort();
  const push = async (repository: string, tag: string) => {
    const pushed = await pushRandomImage({
      url: proxy.url,
      repository: parseImageReference(`${proxy.host}/${repository}`).repository,
      tag,
    });
    digests[`${repository}:${tag}`] = pushed.digest;
    return pushed;
  };

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    repo = await createTestRepo();
    state = await stateDir();
    const prefix = uniqueRepo("prune");
    app = `${proxy.host}/${prefix}-app`;
    service = `${proxy.host}/${prefix}-service`;
    const short = (ref: string) => ref.slice(proxy.host.length + 1);
    for (const tag of ["v0", "v1", "v2"]) await push(short(app), tag);
    await setSettings();
    // Three releases through kasm-gitops: the ledger says the workspace ran v0, then v1, now v2.
    for (const tag of ["v0", "v1", "v2"]) {
      await release(tag);
      expect((await apply()).code).toBe(0);
    }
    // Put there by hand: a stopped session's image, a multi-tag image, a dangling image of the app's
    // repository, and a service image of a repository no workspace names (tagged and dangling).
    await push(short(app), "session");
    await prePull(engine.host, `${app}:session`);
    await createStopped(`${app}:session`);
    await push(short(app), "rc");
    await prePull(engine.host, `${app}:rc`);
    await docker.getImage(`${app}:rc`).tag({ repo: app, tag: "beta" });
    await push(short(app), "nightly");
    await prePull(engine.host, `${app}:nightly`);
    ids.nightlyOld = (await idOf(`${app}:nightly`))!;
    await push(short(app), "nightly");
    await prePull(engine.host, `${app}:nightly`);
    await push(short(service), "1");
    await prePull(engine.host, `${service}:1`);
    ids.serviceOld = (await idOf(`${service}:1`))!;
    await push(short(service), "1");
    await prePull(engine.host, `${service}:1`);
    for (const tag of ["v0", "v1", "v2", "session", "rc", "nightly"])
      ids[tag] = (await idOf(`${app}:${tag}`))!;
    ids.service = (await idOf(`${service}:1`))!;
    expect(Object.values(ids).every(Boolean)).toBe(true);
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("off (the default) plans no removal", async () => {
    const result = await inRepo("plan", repo.bare, state, ["--json"]);
    const plan = JSON.parse(result.stdout) as Plan;
    expect(plan.actions.filter((a) => a.type === "remove")).toEqual([]);
    expect(plan.summary).toMatchObject({ remove: 0, removeBytes: 0 });
  });

  it("dangling removes only the untagged image of a managed repository", async () => {
    await setSettings({ mode: "dangling" });
    const text = await inRepo("plan", repo.bare, state, ["--no-refresh"]);
    expect(text.stdout).toMatch(
      /agent a1: prune\n {2}- \S+-app@sha256:[0-9a-f]{64} {2}\d+(\.\d)? k?B {2}dangling/,
    );
    const out = await apply();
    expect(out.code).toBe(0);
    expect(removedIds(out)).toEqual([ids.nightlyOld]);
    const summary = out.lines.find((l) => l.event === "summary")!;
    expect(summary).toMatchObject({ removed: 1, kept: 0, failed: 0 });
    expect(summary.freedBytes).toBeGreaterThan(0);
    expect(await agent.listImages().then((l) => l.map((i) => i.id))).toContain(ids.serviceOld);
  });

  it("unused also removes old releases and a multi-tag image, keeping the previous release, sessions and services", async () => {
    await setSettings({ mode: "unused", keepPrevious: 1 });
    const out = await apply();
    expect(out.code).toBe(0);
    const named = (list: string[]) =>
      list.map((id) => Object.keys(ids).find((k) => ids[k] === id) ?? id).sort();
    expect(named(removedIds(out)), JSON.stringify(out.lines.filter((l) => l.type === "remove"))).toEqual([
      "nightly",
      "rc",
      "v0",
    ]);
    const left = new Set((await agent.listImages()).map((i) => i.id));
    for (const kept of ["v1", "v2", "session", "service", "serviceOld"])
      expect(left.has(ids[kept]!), kept).toBe(true);
    for (const gone of ["v0", "rc", "nightly", "nightlyOld"]) expect(left.has(ids[gone]!), gone).toBe(false);
    expect((await apply()).lines.filter((l) => l.event === "done")).toEqual([]);
  });

  it("a git revert of the release switches back with zero blob downloads", async () => {
    const head = await git(repo.work, "log", "--format=%H", "--grep=release v2", "-n", "1");
    await git(repo.work, "revert", "--no-edit", head);
    await git(repo.work, "push", "--quiet", "origin", "main:main");
    proxy.reset();
    const out = await apply();
    expect(out.code).toBe(0);
    expect(out.lines.filter((l) => l.event === "done" && l.type === "pull")).toEqual([]);
    expect(proxy.stats().byKind["blob-get"] ?? 0).toBe(0);
    // v2 is now the previous release: kept for a roll forward.
    const left = new Set((await agent.listImages()).map((i) => i.id));
    expect([left.has(ids.v1!), left.has(ids.v2!)]).toEqual([true, true]);
  });
});

describe("a Workspace removed from Git, and a lost ledger (real engine)", () => {
  let proxy: RegistryProxy;
  let prefix: string;
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    prefix = uniqueRepo("removed");
  });
  afterAll(async () => {
    await proxy.close();
  });
  const image = (name: string, tag: string) => `${proxy.host}/${prefix}-${name}:${tag}`;
  const push = (name: string, tag: string) =>
    pushRandomImage({ url: proxy.url, repository: `${prefix}-${name}`, tag });
  /** A fleet of agent a1 with these workspaces (name → tag) and Settings' prune. */
  const commit = (repo: TestRepo, workspaces: Record<string, string>, prune: Record<string, unknown>) =>
    repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: proxy.host }],
          agents: [{ name: "a1", host: engine.host }],
          workspaces: Object.entries(workspaces).map(([name, tag]) => ({
            name,
            image: image(name, tag),
            registry: "corp",
          })),
          settings: { prune },
        }),
      },
      `${JSON.stringify(workspaces)} ${JSON.stringify(prune)}`,
    );
  const apply = async (repo: TestRepo, state: string) => {
    const result = await inRepo("apply", repo.bare, state, ["--json"]);
    expect(result.stderr).toBe("");
    const out = lines(result.stdout);
    const plan = out.find((l) => l.event === "plan") as Line & {
      warnings: { code: string; agent?: string }[];
    };
    const removed = out
      .filter((l) => l.event === "done" && l.type === "remove" && l.status === "ok")
      .map((l) => l.id as string)
      .sort();
    return { code: result.code, warnings: plan.warnings.map((w) => `${w.code} ${w.agent ?? ""}`), removed };
  };
  const present = async (reference: string) => (await idOf(reference)) !== undefined;

  it("keeps a removed workspace's image for removedAfter after the revision that removed it, then removes it", async () => {
    const [repo, state] = [await createTestRepo(), await stateDir()];
    for (const name of ["kept", "gone"]) await push(name, "v1");
    const prune = (removedAfter: string) => ({ mode: "unused", keepPrevious: 1, removedAfter });
    await commit(repo, { kept: "v1", gone: "v1" }, prune("1h"));
    expect((await apply(repo, state)).code).toBe(0);
    const goneId = (await idOf(image("gone", "v1")))!;
    expect(goneId).toBeDefined();

    await commit(repo, { kept: "v1" }, prune("1h"));
    const removing = await apply(repo, state);
    expect([removing.code, removing.removed]).toEqual([0, []]);
    expect(await present(image("gone", "v1"))).toBe(true);
    const { departed } = await createFileLedger(state).read();
    expect(Object.keys(departed)).toEqual(["gone"]);

    // 1h → 2s: the clock runs from the revision that removed it, not from this one.
    await commit(repo, { kept: "v1" }, prune("2s"));
    const since = Date.parse(departed.gone!.since);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, since + 2100 - Date.now())));
    const after = await apply(repo, state);
    expect([after.code, after.removed]).toEqual([0, [goneId]]);
    expect(await present(image("gone", "v1"))).toBe(false);
    expect(await present(image("kept", "v1"))).toBe(true);
  });

  it("the daemon on a new state dir: holds prune and says so once, rebuilds the ledger, keeps what the agent held", async () => {
    const [repo, state] = [await createTestRepo(), await stateDir()];
    for (const tag of ["v0", "v1"]) {
      await push("held", tag);
      await prePull(engine.host, image("held", tag));
    }
    const v0 = (await idOf(image("held", "v0")))!;
    await commit(repo, { held: "v1" }, { mode: "unused", keepPrevious: 1 });
    const [, ...args] = repoArgs("run", repo.bare, state, ["--interval", "1s"]);
    const daemon = await startDaemon(args);
    try {
      const cycles = () => daemon.logs().match(/"msg":"planned"/g)?.length ?? 0;
      await waitUntil("three planned cycles", async () => cycles() >= 3, 30_000, daemon.logs);
      expect(daemon.logs().match(/"level":40[^\n]*"code":"prune-held"/g)).toHaveLength(1);
      expect(Object.keys((await createFileLedger(state).read()).covered)).toEqual(["a1"]);
      // v0 was on the agent before kasm-gitops: it may be the previous release, so it stays.
      expect(await idOf(image("held", "v0"))).toBe(v0);
    } finally {
      await daemon.stop();
    }
  });

  it("plan writes nothing to the ledger; apply of the saved plan rebuilds it", async () => {
    const [repo, state] = [await createTestRepo(), await stateDir()];
    await push("saved", "v1");
    await commit(repo, { saved: "v1" }, { mode: "unused" });
    const planFile = join(state, "plan.json");
    expect((await inRepo("plan", repo.bare, state, ["--out", planFile])).code).toBe(0);
    const saved = JSON.parse(await readFile(planFile, "utf8")) as Plan;
    expect(saved.warnings.map((w) => w.code)).toEqual(["prune-held"]);
    expect((await createFileLedger(state).read()).covered).toEqual({});
    const applied = await inRepo("apply", repo.bare, state, ["--json", planFile]);
    expect([applied.code, applied.stderr]).toEqual([0, ""]);
    expect(Object.keys((await createFileLedger(state).read()).covered)).toEqual(["a1"]);
  });

  it("a deleted ledger: the previous release stays and prune says it is held, then the ledger is rebuilt from the agent", async () => {
    const [repo, state] = [await createTestRepo(), await stateDir()];
    for (const tag of ["v1", "v2", "v3", "v4"]) await push("app", tag);
    const prune = { mode: "unused", keepPrevious: 1 };
    for (const tag of ["v1", "v2"]) {
      await commit(repo, { app: tag }, prune);
      expect((await apply(repo, state)).code).toBe(0);
    }
    const ids = Object.fromEntries(
      await Promise.all(["v1", "v2"].map(async (t) => [t, (await idOf(image("app", t)))!] as const)),
    );
    await unlink(ledgerPath(state));

    const held = await apply(repo, state);
    expect(held).toEqual({ code: 0, warnings: ["prune-held a1"], removed: [] });
    expect(await present(image("app", "v1"))).toBe(true);
    const rebuilt = await createFileLedger(state).read();
    expect(Object.keys(rebuilt.covered)).toEqual(["a1"]);
    expect(rebuilt.entries.filter((e) => e.rebuilt).map((e) => [e.workspaces, e.digest.length])).toEqual([
      [["app"], 71],
      [["app"], 71],
    ]);

    // Rebuilt: no warning, and what the agent held (v1, v2) counts as one release, kept.
    expect(await apply(repo, state)).toEqual({ code: 0, warnings: [], removed: [] });
    await commit(repo, { app: "v3" }, prune);
    expect(await apply(repo, state)).toEqual({ code: 0, warnings: [], removed: [] });
    expect([await present(image("app", "v1")), await present(image("app", "v2"))]).toEqual([true, true]);
    // One release later v3 is the previous one, and v1 and v2 go like any unused image.
    await commit(repo, { app: "v4" }, prune);
    expect(await apply(repo, state)).toEqual({ code: 0, warnings: [], removed: [ids.v1, ids.v2].sort() });
    expect(await present(image("app", "v3"))).toBe(true);
  });
});

describe("removals against a changing agent", () => {
  it("the engine refuses (409) to remove an image a container uses: in-use, never forced", async () => {
    const pushed = await pushRandomImage({
      url: lab.registries.plain.url,
      repository: uniqueRepo("busy"),
      tag: "1",
    });
    await prePull(engine.host, pushed.reference);
    const id = (await idOf(pushed.reference))!;
    const container = await createStopped(pushed.reference);
    expect((await agent.listContainers()).find((c) => c.id === container.id)?.imageId).toBe(id);
    expect(await agent.removeImage(id)).toMatchObject({ status: "in-use" });
    expect(await idOf(pushed.reference)).toBe(id);
    await container.remove();
    expect(await agent.removeImage(id)).toMatchObject({ status: "removed" });
    expect(await agent.removeImage(id)).toEqual({ status: "gone" });
    expect(await agent.imageBytes()).toBeGreaterThan(0);
  });
});

/** A TCP door to the engine's socket that can be shut mid-prune: the agent becomes unreachable. */
async function door(socketPath: string) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `tcp://127.0.0.1:${port}`,
    shut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** A remove action for an image on the engine, as the planner would write it. */
async function removal(reference: string, agentName = "a1"): Promise<RemoveAction> {
  const image = (await agent.listImages()).find((i) => i.repoTags.includes(reference))!;
  return {
    type: "remove",
    agent: agentName,
    image: reference,
    id: image.id,
    bytes: image.size ?? 0,
    reason: "unused",
    tags: image.repoTags.map((t) => parseImageReference(t).canonical),
  };
}

async function seeded(name: string) {
  const pushed = await pushRandomImage({
    url: lab.registries.plain.url,
    repository: uniqueRepo(name),
    tag: "1",
  });
  await prePull(engine.host, pushed.reference);
  return pushed.reference;
}

describe("the prune step of a cycle (real engines)", () => {
  const clock = { now: () => new Date(), sleep: async () => {} };

  it("keeps an image a new container took after the plan, and reports it instead of failing", async () => {
    const [raced, free] = [await seeded("raced"), await seeded("free")];
    const actions = [await removal(raced), await removal(free)];
    await createStopped(raced);
    const results = await executeRemovals(actions, {
      agents: new Map([["a1", agent]]),
      limits: new Map([["a1", 2]]),
      clock,
      emit: () => {},
    });
    expect(results.map((r) => [(r.action as RemoveAction).image, r.status, r.error?.code])).toEqual([
      [raced, "skipped", "image-in-use"],
      [free, "ok", undefined],
    ]);
    expect(results.filter(countsAsFailure)).toEqual([]);
    expect(await idOf(raced)).toBe(actions[0]!.id);
    expect(await idOf(free)).toBeUndefined();
  });

  it("an agent unreachable mid-prune fails the removals left on it, and the other agent's still run", async () => {
    const [first, second, other] = [await seeded("first"), await seeded("second"), await seeded("other")];
    const gate = await door(engine.host.replace(/^unix:\/\//, ""));
    const flaky = createDockerAgent({ name: "a1", host: gate.host, timeoutMs: 2000 });
    const results = await executeRemovals(
      [await removal(first), await removal(second), await removal(other, "a2")],
      {
        agents: new Map([
          ["a1", flaky],
          ["a2", createDockerAgent({ name: "a2", host: engine.host })],
        ]),
        limits: new Map([["a1", 1]]),
        clock,
        emit: (event) => {
          if (event.type === "done" && (event.result.action as RemoveAction).image === first) gate.shut();
        },
      },
    );
    const byImage = new Map(results.map((r) => [(r.action as RemoveAction).image, r]));
    expect(byImage.get(first)?.status).toBe("ok");
    expect([byImage.get(second)?.status, byImage.get(second)?.error?.code]).toEqual([
      "failed",
      "agent-unreachable",
    ]);
    expect(byImage.get(other)?.status).toBe("ok");
    expect(results.filter(countsAsFailure)).toHaveLength(1);
    expect(await idOf(second)).toBeDefined();
  });
});
