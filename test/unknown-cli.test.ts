import { describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { startRegistryProxy } from "../src/lab/registry-proxy.js";
import { inRepo } from "./helpers/cli.js";
import { fleetYaml, localDigests, prePull, privateFleet, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo } from "./helpers/git-repos.js";
import { stoppedEngine } from "./helpers/sockets.js";

const lab = inject("lab");
const [e1, e2] = lab.engines as [(typeof lab.engines)[0], (typeof lab.engines)[0]];

type Line = Record<string, unknown> & { event: string };
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);

describe("an unknown state is never converged (plan and apply)", () => {
  it("wrong password on the htpasswd registry with the image already on the agent: incomplete, exit 1", async () => {
    const fleet = await privateFleet(lab.registries.auth, e1.host);
    await prePull(e1.host, fleet.image, lab.registries.auth.auth!);
    const wrong = { env: { KASM_SECRET_LAB_REGISTRY_PASSWORD: "not-the-password" } };
    const run = (command: string, extra: string[], env = wrong) =>
      inRepo(command, fleet.repo.bare, fleet.state, extra, env);

    const planned = await run("plan", ["--json"]);
    expect(planned.code).toBe(0);
    const plan = JSON.parse(planned.stdout) as Plan;
    expect(plan.actions).toEqual([]);
    expect(plan.summary).toMatchObject({ incomplete: true, unknown: 1 });
    expect(plan.unknown).toEqual([
      expect.objectContaining({
        kind: "registry",
        name: "private",
        reason: "registry-unauthorized",
        image: fleet.image,
      }),
    ]);
    expect((await run("plan", ["--detailed-exitcode"])).code).toBe(1);
    const text = (await run("plan", [])).stdout.trimEnd().split("\n");
    expect(text.at(-2)).toBe("No changes in what could be checked.");
    expect(text.at(-1)).toMatch(
      /^Plan incomplete: 1 registry check failed \(private: registry-unauthorized\)\./,
    );

    const applied = await run("apply", ["--json"]);
    expect(applied.code).toBe(1);
    expect(jsonLines(applied.stdout).at(-1)).toMatchObject({
      event: "summary",
      failed: 0,
      unknown: 1,
      incomplete: true,
      converged: false,
    });
    expect(applied.stdout + applied.stderr).not.toContain(fleet.password);

    // The cause fixed, the same state is verified: exit 0, and only now.
    const right = { env: { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password } };
    expect((await run("plan", ["--detailed-exitcode"], right)).code).toBe(0);
    const fixed = await run("apply", ["--json"], right);
    expect(fixed.code).toBe(0);
    expect(jsonLines(fixed.stdout).at(-1)).toMatchObject({ incomplete: false, converged: true });
  });

  it("a registry answering 500: incomplete plan, apply exits 1, nothing guessed", async () => {
    const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    try {
      const name = uniqueRepo("five");
      const image = `${proxy.host}/${name}:v1`;
      await pushRandomImage({ url: proxy.url, repository: name, tag: "v1" });
      const repo = await createTestRepo();
      await repo.commit(
        {
          "manifests/a.yaml": fleetYaml({
            registries: [{ name: "corp", host: proxy.host }],
            agents: [{ name: "a1", host: e2.host }],
            workspaces: [{ name: "app", image, registry: "corp" }],
          }),
        },
        "fleet",
      );
      const state = await stateDir();
      expect((await inRepo("apply", repo.bare, state, ["--json"])).code).toBe(0);
      proxy.setBehaviour({ inject: [{ match: { kind: "manifest-head" }, status: 500, times: 1000 }] });
      const planned = await inRepo("plan", repo.bare, state, ["--json", "--detailed-exitcode"]);
      expect(planned.code).toBe(1);
      const plan = JSON.parse(planned.stdout) as Plan;
      expect(plan.unknown).toEqual([
        expect.objectContaining({ kind: "registry", name: "corp", reason: "registry-unavailable", image }),
      ]);
      const applied = await inRepo("apply", repo.bare, state, ["--json"]);
      expect(applied.code).toBe(1);
      expect(jsonLines(applied.stdout).at(-1)).toMatchObject({ failed: 0, unknown: 1, converged: false });
    } finally {
      await proxy.close();
    }
  });
});

describe("apply in a CI log (stdout not a terminal, no --json)", () => {
  it("prints the plan, one line per event, and a summary naming the stopped engine", async () => {
    const proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
    try {
      const name = uniqueRepo("ci");
      const image = `${proxy.host}/${name}:v1`;
      const { digest } = await pushRandomImage({ url: proxy.url, repository: name, tag: "v1" });
      const stopped = await stoppedEngine();
      const repo = await createTestRepo();
      const revision = await repo.commit(
        {
          "manifests/a.yaml": fleetYaml({
            registries: [{ name: "corp", host: proxy.host }],
            agents: [
              { name: "a1", host: e1.host },
              { name: "a2", host: stopped.host },
            ],
            workspaces: [{ name: "app", image, registry: "corp" }],
          }),
        },
        "fleet",
      );
      const state = await stateDir();
      const planned = JSON.parse((await inRepo("plan", repo.bare, state, ["--json"])).stdout) as Plan;
      expect(planned.unknown).toEqual([
        expect.objectContaining({ kind: "agent", name: "a2", reason: "agent-unreachable" }),
      ]);

      // The engine's first manifest GET is rate limited once: a pause and a retry line.
      proxy.setBehaviour({ inject: [{ match: { kind: "manifest-get" }, status: 429, times: 1 }] });
      const result = await inRepo("apply", repo.bare, state);
      expect(result.code).toBe(1);
      const out = result.stdout.trimEnd().split("\n");
      const short = digest.slice(0, 19);
      const expected: (string | RegExp)[] = [
        `kasm-gitops plan: main @ ${revision.slice(0, 12)}`,
        "",
        "agent a1",
        `  ${proxy.host}`,
        `    + ${name}:v1  missing → ${short}  (app)`,
        "",
        "warnings",
        /^ {2}- agent-unreachable: agent "a2" is unreachable, nothing is planned there: /,
        "",
        "Plan: 1 pull on 1 agent.",
        /^Plan incomplete: 1 agent unreachable \(a2\)\. /,
        `start   pull a1 ${image} (missing)`,
        /^paused {2}registry 127\.0\.0\.1:\d+ for \d+(\.\d)?s \(rate limited\)$/,
        new RegExp(
          `^retry   pull a1 ${image.replaceAll(".", "\\.")}: attempt 2 in \\d+(\\.\\d)?s after: .*429`,
        ),
        `start   pull a1 ${image} (missing, attempt 2)`,
        new RegExp(
          `^done    pull a1 ${image.replaceAll(".", "\\.")} in \\d+(\\.\\d)?s, \\d+(\\.\\d)? k?B → ${short}$`,
        ),
        "Apply incomplete: 1 pulled, 0 failed.",
        "Not converged: 1 agent unreachable (a2); fix the cause and apply again.",
      ];
      expect(out).toHaveLength(expected.length);
      out.forEach((line, i) => {
        const want = expected[i]!;
        if (typeof want === "string") expect(line, `line ${i + 1}`).toBe(want);
        else expect(line, `line ${i + 1}`).toMatch(want);
      });
      expect(result.stdout).not.toContain("\x1b[");
      expect(await localDigests(e1.host, image)).toEqual([digest]);
    } finally {
      await proxy.close();
    }
  });
});
