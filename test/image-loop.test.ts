/**
 * Issue 28's whole loop on the lab, through one `kasm-gitops run` daemon and the Kasm stand-in, whose agents are
 * the lab's engines (a1: the testing ring, a2: production; each Agent names its Kasm agent, so a record
 * switches only once Kasm's report shows the image there): CI pushes a new dated build → the update policy
 * commits the testing bump → the testing ring pulls it and its Kasm record switches → the smoke session passes
 * → the auto-promotion commit → production pulls it and its record switches. Beside it, in the same pass and
 * cycles, a second pair whose new build exits at once: its smoke session fails, so nothing promotes it.
 * The update schedule is once a minute (validation refuses more often) at a second a few seconds ahead.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startKasmStandIn } from "../src/lab/kasm-stand-in.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { repoArgs } from "./helpers/cli.js";
import { type RunningDaemon, startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, localDigests, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, git, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const R = lab.registries.plain;
const kasm = {} as { standIn: Awaited<ReturnType<typeof startKasmStandIn>> };

beforeAll(async () => {
  kasm.standIn = await startKasmStandIn({
    seed: {
      groups: [{ name: "qa" }],
      users: [{ username: "smoke" }],
      servers: lab.engines.slice(0, 2).map((e, i) => ({ hostname: `a${i + 1}`, engine: e.host })),
    },
  });
});
afterAll(async () => {
  await kasm.standIn?.close();
});

/** A testing Workspace following dated tags, smoke-tested, and its production pair auto-promoted from it. */
const pair = (name: string, image: string, schedule: string) => [
  {
    name: `${name}-testing`,
    image,
    registry: "lab",
    labels: { ring: "testing" },
    groups: ["qa"],
    smoke: { timeout: "20s", hold: "1s" },
    update: { policy: "numerical", filter: { pattern: "^(?<ts>\\d{8})$", extract: "$<ts>" }, schedule },
  },
  {
    name,
    image,
    registry: "lab",
    labels: { ring: "production" },
    groups: ["qa"],
    promotion: { from: `${name}-testing`, auto: "commit" as const },
  },
];

const record = (workspace: string) =>
  kasm.standIn
    .state()
    .images.find((i) => (i.notes ?? "").split("\n").includes(`managed-by: kasm-gitops/${workspace}`));
type Smoke = { result: string; message: string; digest: string };
const smokes = async (state: string) =>
  JSON.parse(await readFile(join(state, "smoke.json"), "utf8").catch(() => '{"results":{}}')) as {
    results: Record<string, Smoke>;
  };
const subjects = (repo: TestRepo, from: string) =>
  git(
    repo.bare,
    "log",
    "--reverse",
    "--format=%s|%(trailers:key=Kasm-Gitops-Automation,valueonly)",
    `${from}..main`,
  );

describe("the whole image loop, one daemon, on lab engines and the Kasm stand-in", () => {
  it("a new build is committed, pulled and switched on testing, smoke-tested, auto-promoted, pulled and switched on production; a build that exits stops at its smoke test", async () => {
    const repos = { chrome: uniqueRepo("loop-chrome"), firefox: uniqueRepo("loop-firefox") };
    const image = (name: keyof typeof repos, tag: string) => `${R.host}/${repos[name]}:${tag}`;
    for (const name of ["chrome", "firefox"] as const)
      await pushRandomImage({ url: R.url, repository: repos[name], tag: "20261201" }, undefined, "stays");
    const second = Math.floor(Date.now() / 1000 + 7) % 60;
    const schedule = `${second} * * * * *`;
    const repo = await createTestRepo();
    const [e1, e2] = lab.engines;
    const fleet = fleetYaml({
      registries: [{ name: "lab", host: R.host }],
      agents: [
        { name: "a1", host: e1!.host, labels: { ring: "testing" }, kasm: { server: "a1" } },
        { name: "a2", host: e2!.host, labels: { ring: "production" }, kasm: { server: "a2" } },
      ],
      workspaces: [
        ...pair("chrome", image("chrome", "20261201"), schedule),
        ...pair("firefox", image("firefox", "20261201"), schedule),
      ],
      kasm: {
        url: kasm.standIn.url,
        apiKeyEnv: "KASM_SECRET_KASM_API_KEY",
        apiKeySecretEnv: "KASM_SECRET_KASM_API_KEY_SECRET",
        smokeUser: "smoke",
      },
    });
    const start = await repo.commit({ "manifests/a.yaml": fleet }, "fleet");
    const state = await stateDir();
    let daemon: RunningDaemon | undefined;
    try {
      // repoArgs' first word is the command, which startDaemon adds.
      const [, ...args] = repoArgs("run", repo.bare, state, [
        "--interval",
        "1s",
        "--git-author",
        "Loop Bot <bot@example.invalid>",
      ]);
      daemon = await startDaemon(args, {
        KASM_SECRET_KASM_API_KEY: kasm.standIn.apiKey,
        KASM_SECRET_KASM_API_KEY_SECRET: kasm.standIn.apiKeySecret,
      });
      const d = daemon;
      const until = (what: string, probe: () => boolean | Promise<boolean>, ms = 90_000) =>
        waitUntil(what, async () => probe(), ms, d.logs);
      // The fleet as Git has it: every record on 20261201.
      await until("the four records", () =>
        ["chrome-testing", "chrome", "firefox-testing", "firefox"].every(
          (w) => record(w)?.name === image(w.startsWith("chrome") ? "chrome" : "firefox", "20261201"),
        ),
      );

      // CI pushes the new builds: chrome's runs, firefox's exits at once.
      const good = await pushRandomImage(
        { url: R.url, repository: repos.chrome, tag: "20261206" },
        undefined,
        "stays",
      );
      const bad = await pushRandomImage(
        { url: R.url, repository: repos.firefox, tag: "20261206" },
        undefined,
        "exits",
      );
      await until(
        "chrome's production record on 20261206",
        () => record("chrome")?.name === image("chrome", "20261206"),
      );
      await until("firefox-testing's smoke result", async () =>
        Object.values((await smokes(state)).results).some((r) => r.digest === bad.digest),
      );
      // One more cycle: the auto-promotion pass after the failed smoke's cycle has had its say.
      const planned = () =>
        d
          .logs()
          .split("\n")
          .filter((l) => l.includes('"msg":"planned"')).length;
      const cycles = planned();
      await until("one more cycle", () => planned() > cycles);
      expect(await d.stop()).toBe(0);

      // Git: the two update commits of one tick, then the promotion of the build that passed; nothing else.
      expect((await subjects(repo, start)).split("\n").filter(Boolean)).toEqual([
        `Update chrome-testing to 20261206 (20261201 -> 20261206, ${good.digest.slice(0, 19)})|update`,
        `Update firefox-testing to 20261206 (20261201 -> 20261206, ${bad.digest.slice(0, 19)})|update`,
        `Promote chrome to 20261206 (${good.digest.slice(0, 19)} verified on chrome-testing)|promote`,
      ]);
      const results = (await smokes(state)).results;
      expect(results[`chrome-testing@${good.digest}`]).toMatchObject({ result: "pass" });
      expect(results[`firefox-testing@${bad.digest}`]).toMatchObject({
        result: "fail",
        message: "the session stopped before it ran (Kasm reports it stopped)",
      });
      // Production's engine pulled the promoted build, never the failed one.
      expect(await localDigests(e2!.host, image("chrome", "20261206"))).toEqual([good.digest]);
      expect(await localDigests(e2!.host, image("firefox", "20261206"))).toEqual([]);
      // Kasm: chrome switched on both rings, firefox only on testing; no session is left.
      expect(record("chrome-testing")?.name).toBe(image("chrome", "20261206"));
      expect(record("firefox-testing")?.name).toBe(image("firefox", "20261206"));
      expect(record("firefox")?.name).toBe(image("firefox", "20261201"));
      expect(kasm.standIn.state().kasms).toEqual([]);
      const logs = d.logs();
      expect(logs).toContain("update pushed: chrome-testing → 20261206 on main");
      expect(logs).toContain(`promotion pushed: chrome → ${image("chrome", "20261206")} on main`);
      expect(logs).not.toContain("promotion pushed: firefox");
    } finally {
      await daemon?.stop();
    }
    // A tick missed on a loaded machine costs a minute, never the test: it then waits for the next one.
  }, 240_000);
});
