import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { BIN, inRepo, repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, prePull, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];

type LogLine = Record<string, unknown> & { msg: string };
type Status = {
  state: string;
  reasons: string[];
  revision?: string;
  lastGoodRevision?: string;
  lastError?: { message: string; failed?: Record<string, string>[]; problems?: string[] };
  refusal?: { revision: string; reason: string; count: number };
  agents: Record<string, { converged: boolean }>;
};

/** The daemon's JSON log lines (pino, one object a line). */
const logLines = (output: string): LogLine[] =>
  output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);

/** A metric's value in Prometheus text, or undefined when the series is absent. */
const metric = (body: string, series: string) => {
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/**
 * One fleet with every kind of line an operator reads: a verified promotion (carried out), a promotion of a
 * digest nobody tested (blocked), a pull whose registry refuses the manifest (failed), and a pull that fails
 * once with a 503 (retried).
 */
describe("the daemon's operator view: log fields, blocked promotions, failed actions, refusals", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let daemon: RunningDaemon;
  let names: { good: string; app: string; bad: string; flaky: string };
  let manifests: (agents?: { a1: string; a2: string }) => Record<string, string>;
  const status = async () => (await daemon.status()) as unknown as Status;

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    names = {
      good: uniqueRepo("good"),
      app: uniqueRepo("app"),
      bad: uniqueRepo("bad"),
      flaky: uniqueRepo("flaky"),
    };
    const P = proxy.host;
    await pushRandomImage({ url: proxy.url, repository: names.good, tag: "1.0" });
    await pushRandomImage({ url: proxy.url, repository: names.app, tag: "1.0" });
    await pushRandomImage({ url: proxy.url, repository: names.app, tag: "2.0" });
    await pushRandomImage({ url: proxy.url, repository: names.bad, tag: "v1" });
    await pushRandomImage({ url: proxy.url, repository: names.flaky, tag: "v1" });
    // The testing agent already runs good:1.0, so its promotion is verified; app:2.0 is on no testing agent.
    await prePull(e1.host, `${P}/${names.good}:1.0`);
    const testing = { ring: "testing" };
    const production = { ring: "production" };
    manifests = (agents = { a1: "a1", a2: "a2" }) => ({
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: P }],
        agents: [
          { name: agents.a1, host: e1.host, labels: testing },
          { name: agents.a2, host: e2.host, labels: production },
        ],
        workspaces: [
          { name: "good-testing", image: `${P}/${names.good}:1.0`, registry: "corp", labels: testing },
          {
            name: "good",
            image: `${P}/${names.good}:1.0`,
            registry: "corp",
            labels: production,
            promotion: { from: "good-testing", movingTags: ["latest"] },
          },
          { name: "app-testing", image: `${P}/${names.app}:1.0`, registry: "corp", labels: testing },
          {
            name: "app",
            image: `${P}/${names.app}:2.0`,
            registry: "corp",
            labels: production,
            promotion: { from: "app-testing", movingTags: ["latest"] },
          },
          { name: "broken", image: `${P}/${names.bad}:v1`, registry: "corp", labels: testing },
          { name: "flaky", image: `${P}/${names.flaky}:v1`, registry: "corp", labels: production },
        ],
      }),
    });
    repo = await createTestRepo();
    await repo.commit(manifests(), "a fleet with a promotion nobody tested");
    // The tag checks (HEAD) answer; the engine's manifest GET for bad always fails, for flaky once.
    proxy.setBehaviour({
      inject: [
        { match: { kind: "manifest-get", pathPattern: `/${names.bad}/` }, status: 404, times: 100_000 },
        { match: { kind: "manifest-get", pathPattern: `/${names.flaky}/` }, status: 503, times: 1 },
      ],
    });
    const [, ...args] = repoArgs("run", repo.bare, await stateDir(), [
      "--interval",
      "1s",
      "--agent",
      "a1",
      "--agent",
      "a2",
    ]);
    daemon = await startDaemon(args);
  });
  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await proxy?.close();
  });

  it("names agent, workspace, image, revision and cycle on every pull and promotion line", async () => {
    await waitUntil(
      "the flaky pull done and the bad one failed",
      async () => {
        const lines = logLines(daemon.logs());
        return (
          lines.some((l) => l.msg === "pull done" && l.workspace === "flaky") &&
          lines.some((l) => l.msg === "pull failed" && l.workspace === "broken")
        );
      },
      60_000,
      daemon.logs,
    );
    const lines = logLines(daemon.logs()).filter((l) => l.action === "pull" || l.action === "promote");
    const messages = new Set(lines.map((l) => l.msg));
    for (const msg of ["pull started", "pull done", "pull failed", "promote started", "promote done"])
      expect(messages, msg).toContain(msg);
    expect(lines.some((l) => l.msg === "pull failed, retrying" && l.workspace === "flaky")).toBe(true);
    expect(lines.some((l) => l.reason === "not-verified")).toBe(true);
    for (const line of lines) {
      expect(line, JSON.stringify(line)).toMatchObject({
        cycle: expect.stringMatching(/^[0-9a-f]{8}$/),
        revision: expect.stringMatching(/^[0-9a-f]{40}$/),
        workspace: expect.any(String),
        image: expect.stringContaining(proxy.host),
      });
      expect(line.workspace).not.toBe("");
      if (line.action === "pull") expect(line.agent, JSON.stringify(line)).toMatch(/^a[12]$/);
      else expect(line.registry, JSON.stringify(line)).toBe(proxy.host);
    }
  });

  it("is degraded by the blocked promotion and the failed pull, each named; lastError lists the failure", async () => {
    // The log lines above are written mid-cycle; the state is recorded when the cycle ends.
    await waitUntil(
      "a finished cycle",
      async () => (await status()).state !== "starting",
      30_000,
      daemon.logs,
    );
    const s = await status();
    expect(s.state).toBe("degraded");
    expect(s.reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^promotion blocked \(workspace app\): .*never verified on workspace "app-testing"/,
        ),
        expect.stringMatching(new RegExp(`^pull ${proxy.host}/${names.bad}:v1 on a1 failed: `)),
      ]),
    );
    expect(s.lastError?.message).toMatch(/^1 action\(s\) failed: pull .* on a1 failed: /);
    expect(s.lastError?.failed).toEqual([
      expect.objectContaining({
        type: "pull",
        agent: "a1",
        workspace: "broken",
        image: `${proxy.host}/${names.bad}:v1`,
      }),
    ]);
    const metrics = (await daemon.get("/metrics")).body;
    expect(metric(metrics, "kasm_gitops_converged")).toBe(0);
    expect(metric(metrics, 'kasm_gitops_promotions_total{result="blocked"}')).toBe(1);
    expect(metric(metrics, 'kasm_gitops_promotions_total{result="ok"}')).toBe(1);
  });

  it("logs the blocked promotion once per revision, however many cycles plan it", async () => {
    const cycles = () => logLines(daemon.logs()).filter((l) => l.msg === "planned").length;
    const before = cycles();
    await waitUntil("three more cycles", async () => cycles() >= before + 3, 30_000, daemon.logs);
    const blocked = logLines(daemon.logs()).filter(
      (l) => l.action === "promote" && l.reason === "not-verified",
    );
    expect(blocked).toHaveLength(1);
  });

  it("logs a refused tip once, then counts it in /status and the cycles metric", async () => {
    const bad = await repo.commit(
      {
        "manifests/a.yaml":
          "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: x}\nspec: {imag: 1}\n",
      },
      "a typo",
    );
    await waitUntil(
      // The fourth refusal starts after the third cycle finished and was counted.
      "refused four times",
      async () => ((await status()).refusal?.count ?? 0) >= 4,
      60_000,
      daemon.logs,
    );
    const s = await status();
    expect(s.refusal).toMatchObject({ revision: bad, reason: "invalid-revision" });
    expect(s.lastError?.problems?.[0]).toMatch(/^a\.yaml:\d+:\d+: /);
    expect(logLines(daemon.logs()).filter((l) => l.msg.startsWith("revision refused"))).toHaveLength(1);
    const metrics = (await daemon.get("/metrics")).body;
    expect(metric(metrics, 'kasm_gitops_cycles_total{result="invalid-revision"}')).toBeGreaterThanOrEqual(3);
  });

  it("is degraded, not idle, when a new revision no longer defines an --agent name; logged once per revision", async () => {
    const renamed = await repo.commit(manifests({ a1: "a1", a2: "prod-1" }), "a2 renamed");
    await waitUntil(
      "the missing agent named",
      async () => (await status()).reasons.some((r) => r.startsWith("agent a2 (--agent")),
      60_000,
      daemon.logs,
    );
    const cycles = () => logLines(daemon.logs()).filter((l) => l.msg === "planned").length;
    const before = cycles();
    await waitUntil("two more cycles", async () => cycles() >= before + 2, 30_000, daemon.logs);
    const s = await status();
    expect(s.lastGoodRevision).toBe(renamed);
    expect(s.refusal).toBeUndefined();
    expect(s.reasons.find((r) => r.startsWith("agent a2"))).toContain("agents: a1, prod-1");
    const warned = logLines(daemon.logs()).filter((l) => l.msg.startsWith("agent a2 (--agent"));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ revision: renamed, agents: ["a2"] });
    expect(metric((await daemon.get("/metrics")).body, "kasm_gitops_converged")).toBe(0);
  });
});

describe("kasm-gitops run at start", () => {
  it("refuses an --agent the branch does not define, listing the agents it does", async () => {
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: lab.registries.plain.host }],
          agents: [{ name: "a1", host: e1.host }],
          workspaces: [],
        }),
      },
      "one agent",
    );
    const result = await inRepo("run", repo.bare, await stateDir(), ["--agent", "a1x"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "kasm-gitops: usage error: --agent a1x: no such agent on branch main (agents: a1); did you mean a1?\n",
    );
  });

  it("announces /hooks/git only when a webhook secret is set", async () => {
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [],
          agents: [{ name: "a1", host: e1.host }],
          workspaces: [],
        }),
      },
      "empty fleet",
    );
    const [, ...args] = repoArgs("run", repo.bare, await stateDir(), ["--listen", "127.0.0.1:0"]);
    const env = { ...process.env };
    delete env.KASM_GITOPS_WEBHOOK_SECRET;
    const child = spawn(process.execPath, [BIN, "run", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    for (const stream of [child.stdout, child.stderr])
      stream.on("data", (d: Buffer) => {
        output += d.toString();
      });
    try {
      await waitUntil(
        "serving",
        async () => output.includes('"msg":"serving'),
        30_000,
        () => output,
      );
      const serving = logLines(output).find((l) => l.msg.startsWith("serving"))!;
      expect(serving.msg).toBe("serving /, /events, /healthz, /readyz, /metrics, /status");
      expect(serving.paths).toEqual(["/", "/events", "/healthz", "/readyz", "/metrics", "/status"]);
    } finally {
      child.kill("SIGKILL");
    }
    const daemon = await startDaemon(args.slice(0, -2));
    try {
      expect(logLines(daemon.logs()).find((l) => l.msg.startsWith("serving"))?.msg).toBe(
        "serving /, /events, /healthz, /readyz, /metrics, /status, /hooks/git",
      );
    } finally {
      await daemon.stop("SIGKILL");
    }
  });
});

describe("plan and apply with a promotion of a digest nobody tested", () => {
  it("plan --detailed-exitcode exits 2 with nothing to carry out; apply is not converged and says why", async () => {
    const name = uniqueRepo("untested");
    const R = lab.registries.plain;
    await pushRandomImage({ url: R.url, repository: name, tag: "1.0" });
    await pushRandomImage({ url: R.url, repository: name, tag: "2.0" });
    // Both agents already run what Git says: the only thing left is the promotion, which may not happen.
    await prePull(e1.host, `${R.host}/${name}:1.0`);
    await prePull(e2.host, `${R.host}/${name}:2.0`);
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: R.host }],
          agents: [
            { name: "a1", host: e1.host, labels: { ring: "testing" } },
            { name: "a2", host: e2.host, labels: { ring: "production" } },
          ],
          workspaces: [
            {
              name: "app-testing",
              image: `${R.host}/${name}:1.0`,
              registry: "corp",
              labels: { ring: "testing" },
            },
            {
              name: "app",
              image: `${R.host}/${name}:2.0`,
              registry: "corp",
              labels: { ring: "production" },
              promotion: { from: "app-testing", movingTags: ["latest"] },
            },
          ],
        }),
      },
      "production ahead of testing",
    );
    const state = await stateDir();
    const planned = await inRepo("plan", repo.bare, state, ["--detailed-exitcode"]);
    expect(planned.stdout).toMatch(/1 promotion blocked/);
    expect(planned.code).toBe(2);
    const applied = await inRepo("apply", repo.bare, state, ["--json"]);
    expect(applied.code).toBe(1);
    const summary = JSON.parse(applied.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ event: "summary", failed: 0, blocked: 1, converged: false });
    const text = await inRepo("apply", repo.bare, state);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^Not converged: promotion blocked \(workspace app\): .*never verified on workspace "app-testing"/m,
    );
  });
});
