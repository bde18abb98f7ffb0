import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { compareText } from "../src/core/manifest/types.js";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { inRepo } from "./helpers/cli.js";
import { fleetYaml, localDigests, prePull, privateFleet, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, serveGitHttp, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];

describe("kasm-gitops plan against real agents, registries and git", () => {
  let proxy: RegistryProxy;
  let repo: TestRepo;
  let state: string;
  let P: string;
  const names = {
    testing: uniqueRepo("testing"),
    all: uniqueRepo("all"),
    pinned: uniqueRepo("pinned"),
    loose: uniqueRepo("loose"),
  };
  let pinnedDigest: string;
  const plan = async (...extra: string[]) => {
    const result = await inRepo("plan", repo.bare, state, ["--json", ...extra]);
    return { ...result, plan: result.code !== 1 ? (JSON.parse(result.stdout) as Plan) : undefined };
  };
  const pulls = (p: Plan) =>
    p.actions
      .filter((a) => a.type === "pull")
      .map((a) => `${a.agent} ${a.image.replace(`${P}/`, "")} ${a.reason}`);

  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    P = proxy.host;
    for (const name of [names.testing, names.all, names.loose])
      await pushRandomImage({ url: proxy.url, repository: name, tag: "v1" });
    pinnedDigest = (await pushRandomImage({ url: proxy.url, repository: names.pinned, tag: "v1" })).digest;
    repo = await createTestRepo();
    state = await stateDir();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: P }],
          agents: [
            { name: "a1", host: e1.host, labels: { ring: "testing" } },
            { name: "a2", host: e2.host, labels: { ring: "production" } },
            {
              name: "gone",
              host: "unix:///tmp/kasm-gitops-no-such-engine.sock",
              labels: { ring: "production" },
            },
          ],
          workspaces: [
            {
              name: "only-testing",
              image: `${P}/${names.testing}:v1`,
              registry: "corp",
              labels: { ring: "testing" },
            },
            { name: "everywhere", image: `${P}/${names.all}:v1`, registry: "corp" },
            {
              name: "pinned",
              image: `${P}/${names.pinned}@${pinnedDigest}`,
              registry: "corp",
              labels: { ring: "testing" },
            },
            { name: "loose", image: `${P}/${names.loose}:v1` },
          ],
        }),
      },
      "fleet",
    );
    proxy.reset();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("plans missing images only where selectors pick them, warns for the rest, one HEAD per unique tag", async () => {
    const result = await plan();
    expect(result.code).toBe(0);
    // Sorted by agent, then canonical reference (the planner's deterministic order).
    expect(pulls(result.plan!)).toEqual(
      [
        `a1 ${names.all}:v1 missing`,
        `a1 ${names.pinned}@${pinnedDigest} missing`,
        `a1 ${names.testing}:v1 missing`,
        `a2 ${names.all}:v1 missing`,
      ].sort(compareText),
    );
    expect(result.plan!.warnings.map((w) => `${w.code} ${w.agent ?? w.workspace}`).sort()).toEqual([
      "agent-unreachable gone",
      "no-registry loose",
    ]);
    // Two unique tag references (the pinned one is never checked), however many agents want them.
    expect(proxy.stats().byKind["manifest-head"]).toBe(2);
    expect(proxy.stats().byKind["manifest-get"] ?? 0).toBe(0);
    expect(result.plan!.revision).toMatch(/^[0-9a-f]{40}$/);
  });

  it("does not plan a pre-pulled image, and plans a moved tag as outdated with both digests", async () => {
    const first = await prePull(e1.host, `${P}/${names.all}:v1`);
    let result = await plan();
    expect(pulls(result.plan!)).not.toContain(`a1 ${names.all}:v1 missing`);
    const moved = await pushRandomImage({ url: proxy.url, repository: names.all, tag: "v1" });
    result = await plan();
    const outdated = result.plan!.actions.find(
      (a) => a.type === "pull" && a.agent === "a1" && a.image.endsWith(`${names.all}:v1`),
    );
    expect(outdated).toMatchObject({
      reason: "outdated",
      currentDigest: first.digest,
      targetDigest: moved.digest,
    });
    expect(await localDigests(e1.host, `${P}/${names.all}:v1`)).toContain(first.digest);
  });

  it("--no-refresh sends no HEAD and plans no outdated image", async () => {
    proxy.reset();
    const result = await plan("--no-refresh");
    expect(proxy.stats().byKind["manifest-head"] ?? 0).toBe(0);
    expect(result.plan!.actions.every((a) => a.type === "pull" && a.reason === "missing")).toBe(true);
  });

  it.each([
    [[], 0],
    [["--detailed-exitcode", "--agent", "a1", "--agent", "a2"], 2],
    // Agent "gone" cannot be observed: the plan is incomplete, which is never "no changes".
    [["--detailed-exitcode"], 1],
  ])("exit code with %j is %d (changes planned)", async (flags, code) => {
    expect((await plan(...flags)).code).toBe(code);
  });

  it("records an unreachable agent as unknown, and the plan as incomplete", async () => {
    const { plan: p } = await plan();
    expect(p!.summary).toMatchObject({ incomplete: true, unknown: 1 });
    expect(p!.unknown).toEqual([
      expect.objectContaining({ kind: "agent", name: "gone", reason: "agent-unreachable" }),
    ]);
    const complete = (await plan("--agent", "a1", "--agent", "a2")).plan!;
    expect(complete.summary).toMatchObject({ incomplete: false, unknown: 0 });
  });

  it("--agent limits the plan to that agent", async () => {
    const result = await plan("--agent", "a2");
    expect(new Set(result.plan!.actions.map((a) => (a.type === "pull" ? a.agent : "")))).toEqual(
      new Set(["a2"]),
    );
  });

  it("renders text grouped by agent with one summary line", async () => {
    const result = await inRepo("plan", repo.bare, state);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^agent a1$/m);
    expect(result.stdout).toMatch(/^agent a2$/m);
    const [summary, incomplete] = result.stdout.trimEnd().split("\n").slice(-2);
    expect(summary).toMatch(/^Plan: \d+ pulls on 2 agents\.$/);
    expect(incomplete).toMatch(/^Plan incomplete: 1 agent unreachable \(gone\)\. Fix the cause/);
    expect(result.stdout).not.toContain("\x1b[");
  });

  it("ends with exit 1 and the validator's file:line:col messages on an invalid revision", async () => {
    const bad = await createTestRepo();
    await bad.commit(
      {
        "manifests/a.yaml":
          "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: x}\nspec:\n  imagee: foo:1\n",
      },
      "typo",
    );
    const result = await inRepo("plan", bad.bare, await stateDir());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^a\.yaml:5:3: error: .*imagee/m);
    expect(result.stdout).toBe("");
  });
});

describe("plan with an htpasswd registry", () => {
  it("checks digests with credentials from the environment and never prints the password", async () => {
    const fleet = await privateFleet(lab.registries.auth, e1.host);
    const env = (password: string) => ({ env: { KASM_SECRET_LAB_REGISTRY_PASSWORD: password } });
    const ok = await inRepo("plan", fleet.repo.bare, fleet.state, ["--json"], env(fleet.password));
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as Plan).actions[0]).toMatchObject({
      reason: "missing",
      targetDigest: fleet.digest,
    });
    const denied = await inRepo("plan", fleet.repo.bare, fleet.state, ["--json"], env("wrong-password"));
    expect(denied.code).toBe(0);
    expect((JSON.parse(denied.stdout) as Plan).warnings.map((w) => w.code)).toContain("registry-error");
    for (const output of [ok.stdout, ok.stderr, denied.stdout, denied.stderr]) {
      expect(output).not.toContain(fleet.password);
      expect(output).not.toContain("wrong-password");
    }
  });

  it("warns no-agents, in text and in JSON, for a revision that declares no Agent", async () => {
    const bare = await createTestRepo();
    await bare.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: lab.registries.plain.host }],
          agents: [],
          workspaces: [{ name: "all", image: `${lab.registries.plain.host}/kasm/none:v1`, registry: "corp" }],
        }),
      },
      "a fleet without agents",
    );
    const dir = await stateDir();
    const text = await inRepo("plan", bare.bare, dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/- no-agents: this revision declares no Agent/);
    expect(text.stdout).toContain("No changes.");
    const json = JSON.parse((await inRepo("plan", bare.bare, dir, ["--json"])).stdout) as Plan;
    expect(json.warnings.map((w) => w.code)).toEqual(["no-agents", "no-matching-agent"]);
    expect(json.actions).toEqual([]);
  });
});

describe("plan from an HTTPS-style Git server with a token", () => {
  it("reads the token from the variable --git-token-env names, and never prints it", async () => {
    const TOKEN = "lab-git-token-123";
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [{ name: "corp", host: lab.registries.plain.host }],
          agents: [{ name: "a1", host: e1.host }],
          workspaces: [],
        }),
      },
      "empty fleet",
    );
    const basic = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`;
    const server = await serveGitHttp(join(repo.bare, ".."), [basic]);
    try {
      const url = `${server.url}/origin.git`;
      const state = await stateDir();
      const ok = await inRepo("plan", url, state, ["--git-token-env", "MY_GIT_TOKEN"], {
        env: { MY_GIT_TOKEN: TOKEN },
      });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/No changes\./);
      const denied = await inRepo("plan", url, await stateDir(), ["--git-token-env", "MY_GIT_TOKEN"], {
        env: { MY_GIT_TOKEN: "wrong" },
      });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/^kasm-gitops: error: .*(fetch|git)/im);
      for (const output of [ok.stdout, ok.stderr, denied.stdout, denied.stderr])
        expect(output).not.toContain(TOKEN);
    } finally {
      await server.close();
    }
  });
});
