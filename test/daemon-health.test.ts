import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { UnknownCause } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, localDigests, prePull, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";
import { startReceiver } from "./helpers/receiver.js";
import { startForwarding, stoppedEngine } from "./helpers/sockets.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];
const auth = lab.registries.auth;

type Health = {
  state: string;
  reasons: string[];
  unknown: UnknownCause[];
  lastGoodRevision?: string;
};

/** A metric's value in Prometheus text, or undefined when the series is absent. */
const metric = (body: string, series: string) => {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const notification = (name: string, type: string, env: string, events: string[]) =>
  `apiVersion: kasm-gitops/v1\nkind: Notification\nmetadata: {name: ${name}}\nspec:\n  type: ${type}\n  url: {env: ${env}}\n  events: ${JSON.stringify(events)}\n`;

describe("the daemon: degraded while anything is unknown, recovered by itself, and says so", () => {
  let proxy: RegistryProxy;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let daemon: RunningDaemon;
  let forwarding: { close(): Promise<void> } | undefined;
  let passwordFile: string;
  let stopped: { host: string; path: string };
  let images: { app: string; secret: string };
  const tokens = {
    hook: "hook-t0ken-1",
    chat: "chat-t0ken-2",
    disc: "disc-t0ken-3",
    flaky: "flaky-t0ken-4",
    hang: "hang-t0ken-5",
  };
  const health = async () => (await daemon.status()) as unknown as Health;
  const metrics = async () => (await daemon.get("/metrics")).body;
  const hang = () => receiver.received.filter((r) => r.path.startsWith("/hang/"));

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    receiver = await startReceiver({ flaky: "fail-once", hang: "hang" });
    stopped = await stoppedEngine();
    const app = uniqueRepo("app");
    const secret = uniqueRepo("secret");
    images = { app: `${proxy.host}/${app}:v1`, secret: `${auth.host}/${secret}:v1` };
    await pushRandomImage({ url: proxy.url, repository: app, tag: "v1" });
    await pushRandomImage({ url: auth.url, repository: secret, tag: "v1", auth: auth.auth! });
    // a1 already holds both images: only the checks can tell whether it is up to date.
    await prePull(e1.host, images.app);
    await prePull(e1.host, images.secret, auth.auth!);
    const dir = await mkdtemp(join(tmpdir(), "kg-secret-"));
    passwordFile = join(dir, "password");
    await writeFile(passwordFile, "wrong-password\n");
    const repo = await createTestRepo();
    const fleet = fleetYaml({
      registries: [{ name: "corp", host: proxy.host }],
      agents: [
        { name: "a1", host: e1.host },
        { name: "a2", host: stopped.host },
      ],
      workspaces: [
        { name: "app", image: images.app, registry: "corp" },
        { name: "secret", image: images.secret, registry: "private" },
      ],
    });
    const all = ["degraded", "recovered", "rollout-done", "rollout-failed", "promoted", "revision-refused"];
    await repo.commit(
      {
        "manifests/a.yaml": fleet,
        "manifests/private.yaml": `apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: private}\nspec:\n  host: "${auth.host}"\n  insecure: true\n  auth:\n    username: ${auth.auth!.username}\n    password: {file: ${passwordFile}}\n`,
        "manifests/notify.yaml": [
          notification("hook", "webhook", "KASM_SECRET_HOOK", all),
          notification("chat", "slack", "KASM_SECRET_CHAT", ["degraded", "recovered"]),
          notification("disc", "discord", "KASM_SECRET_DISC", ["degraded", "recovered"]),
          notification("flaky", "webhook", "KASM_SECRET_FLAKY", ["degraded", "recovered"]),
          notification("hang", "webhook", "KASM_SECRET_HANG", ["degraded", "recovered", "rollout-done"]),
        ].join("---\n"),
      },
      "fleet with notifications",
    );
    // The registry in front of corp answers 500 to every tag check.
    proxy.setBehaviour({ inject: [{ match: { kind: "manifest-head" }, status: 500, times: 100_000 }] });
    const [, ...args] = repoArgs("run", repo.bare, await stateDir(), [
      "--interval",
      "1s",
      "--secret-dir",
      dir,
    ]);
    const env: Record<string, string> = {};
    for (const [name, token] of Object.entries(tokens))
      env[`KASM_SECRET_${name.toUpperCase()}`] = `${receiver.url}/${name}/${token}`;
    daemon = await startDaemon(args, env);
  });
  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await forwarding?.close();
    await receiver?.close();
    await proxy?.close();
  });

  it("is degraded with every cause named: a 500, a wrong password, a stopped engine; converged is 0", async () => {
    await waitUntil(
      "degraded with 3 causes",
      async () => (await health()).unknown.length === 3,
      60_000,
      daemon.logs,
    );
    const h = await health();
    expect(h.state).toBe("degraded");
    expect(h.unknown.map((u) => `${u.kind} ${u.name} ${u.reason}`).sort()).toEqual([
      "agent a2 agent-unreachable",
      "registry corp registry-unavailable",
      "registry private registry-unauthorized",
    ]);
    expect(h.reasons).toHaveLength(3);
    expect(h.reasons.join("\n")).toMatch(/agent a2 unreachable/);
    const body = await metrics();
    expect(metric(body, "kasm_gitops_converged")).toBe(0);
    expect(metric(body, 'kasm_gitops_unknown_checks{kind="registry"}')).toBe(2);
    expect(metric(body, 'kasm_gitops_unknown_checks{kind="agent"}')).toBe(1);
  });

  it("sends one degraded message per endpoint however many degraded cycles pass, each in its type's shape", async () => {
    const cycles = async () => metric(await metrics(), 'kasm_gitops_cycles_total{result="ok"}') ?? 0;
    // The hanging endpoint holds its request open, and cycles go on regardless.
    await waitUntil("a request to the hanging endpoint", async () => hang().length > 0, 20_000, daemon.logs);
    const during = await cycles();
    await waitUntil("a cycle while it hangs", async () => (await cycles()) > during, 20_000, daemon.logs);
    expect(hang()[0]!.closed).toBeUndefined();
    const before = await cycles();
    await waitUntil("two more cycles", async () => (await cycles()) >= before + 2, 60_000, daemon.logs);
    const degraded = (prefix: string) => receiver.delivered(prefix);
    const hook = degraded("/hook/").filter((r) => r.body.event === "degraded");
    expect(hook).toHaveLength(1);
    expect(Object.keys(hook[0]!.body).sort()).toEqual([
      "branch",
      "details",
      "event",
      "message",
      "revision",
      "source",
      "time",
    ]);
    expect(hook[0]!.body).toMatchObject({ source: "kasm-gitops", event: "degraded", branch: "main" });
    expect(String(hook[0]!.body.message)).toMatch(/agent a2 unreachable/);
    expect(degraded("/chat/").map((r) => Object.keys(r.body))).toEqual([["text"]]);
    expect(String(degraded("/chat/")[0]!.body.text)).toMatch(/^kasm-gitops degraded on main@[0-9a-f]{12}: /);
    expect(degraded("/disc/").map((r) => Object.keys(r.body))).toEqual([["content"]]);
    // The flaky endpoint answered 500 first: retried, delivered once.
    const flaky = receiver.received.filter((r) => r.path.startsWith("/flaky/"));
    expect(flaky.map((r) => r.status)).toEqual([500, 200]);
    expect(
      metric(
        await metrics(),
        'kasm_gitops_notifications_total{notification="flaky",type="webhook",result="retried"}',
      ),
    ).toBe(1);
  });

  it("recovers by itself once each cause is fixed: converged is 1, a recovered message, a rollout on the engine that came back", async () => {
    proxy.setBehaviour({ inject: [] });
    await writeFile(passwordFile, `${auth.auth!.password}\n`);
    forwarding = await startForwarding(stopped.path, e2.host);
    await waitUntil("converged", async () => (await health()).state === "converged", 60_000, daemon.logs);
    const h = await health();
    expect(h.reasons).toEqual([]);
    expect(h.unknown).toEqual([]);
    expect(metric(await metrics(), "kasm_gitops_converged")).toBe(1);
    expect(await localDigests(e2.host, images.app)).toHaveLength(1);
    expect(await localDigests(e2.host, images.secret)).toHaveLength(1);
    await waitUntil("recovered delivered", async () => receiver.delivered("/chat/").length === 2, 20_000);
    const events = (prefix: string) =>
      receiver.delivered(prefix).map((r) => r.body.event ?? r.body.text ?? r.body.content);
    expect(events("/hook/")).toEqual(["degraded", "rollout-done", "recovered"]);
    expect(String(receiver.delivered("/chat/")[1]!.body.text)).toMatch(/recovered/);
    expect(String(receiver.delivered("/disc/").at(-1)!.body.content)).toMatch(/recovered/);
    // The hanging endpoint was given up on per attempt (a bounded wait), never answered.
    expect(hang().every((r) => r.status === 0)).toBe(true);
    const logs = daemon.logs();
    for (const token of Object.values(tokens)) expect(logs).not.toContain(token);
    expect(logs).not.toContain(auth.auth!.password);
  });
});
