import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pushRandomImage } from "../src/lab/push-image.js";
import { inRepo, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const registry = lab.registries.plain;

/** A repo whose one workspace's image exists in the lab registry. */
async function fleetRepo(): Promise<TestRepo> {
  const name = uniqueRepo("state");
  await pushRandomImage({ url: registry.url, repository: name, tag: "v1" });
  const repo = await createTestRepo();
  await repo.commit(
    {
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: registry.host }],
        agents: [{ name: "a1", host: engine.host }],
        workspaces: [{ name: "app", image: `${registry.host}/${name}:v1`, registry: "corp" }],
      }),
    },
    "fleet",
  );
  return repo;
}

const ledgerLine = (n: number) =>
  JSON.stringify({
    time: "2026-11-30T12:00:00.000Z",
    agent: "a1",
    image: `${registry.host}/x:${n}`,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    revision: "a".repeat(40),
    workspaces: ["app"],
  });

describe("corrupt state files, through the CLI", () => {
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await fleetRepo();
  });

  it("a folder in place of ledger.jsonl: plan works, warns naming the file, and moves it aside", async () => {
    const state = await stateDir();
    await mkdir(join(state, "ledger.jsonl", "junk"), { recursive: true });
    const result = await inRepo("plan", repo.bare, state, ["--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `kasm-gitops: warning: state file ${join(state, "ledger.jsonl")} is not a regular file; the ledger starts empty: moved aside as ledger.jsonl.corrupt-`,
    );
    expect((await readdir(state)).filter((f) => f.startsWith("ledger.jsonl"))).toEqual([
      expect.stringMatching(/^ledger\.jsonl\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/),
    ]);
  });

  it("a torn ledger line: plan warns once naming the file and line, and keeps the readable entries", async () => {
    const state = await stateDir();
    await writeFile(
      join(state, "ledger.jsonl"),
      `${ledgerLine(1)}\n${ledgerLine(2).slice(0, 30)}\n${ledgerLine(3)}\n`,
    );
    const first = await inRepo("plan", repo.bare, state, ["--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      new RegExp(
        `state file ${join(state, "ledger.jsonl")} has 1 unreadable line\\(s\\) \\(line 2: not JSON`,
      ),
    );
    expect(first.stderr).toContain("the 2 readable entries are kept in ledger.jsonl");
    expect(await readFile(join(state, "ledger.jsonl"), "utf8")).toBe(`${ledgerLine(1)}\n${ledgerLine(3)}\n`);
    const second = await inRepo("plan", repo.bare, state, ["--json"]);
    expect(second.stderr).not.toContain("warning");
  });
});

describe("corrupt state files, in the daemon", () => {
  const daemons: { stop: () => Promise<unknown> }[] = [];
  afterAll(async () => {
    for (const d of daemons) await d.stop();
  });

  it("garbage in last-good.json on an invalid tip: warns, moves it aside, and claims no revision in force", async () => {
    const repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml":
          "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: x}\nspec: {imag: 1}\n",
      },
      "broken",
    );
    const state = await stateDir();
    await writeFile(join(state, "last-good.json"), '{"revision": "bbbb');
    const daemon = await startDaemon(repoArgs("run", repo.bare, state, ["--interval", "1h"]).slice(1));
    daemons.push(daemon);
    await waitUntil("a refusal", async () => /revision refused/.test(daemon.logs()), 30_000, daemon.logs);
    expect(daemon.logs()).toContain(`state file ${join(state, "last-good.json")} is not JSON`);
    expect(daemon.logs()).toMatch(/revision refused; no last good revision is in force/);
    expect(daemon.logs()).not.toMatch(/stays in force/);
    const status = (await daemon.status()) as { ready: boolean; lastGoodRevision?: string };
    expect(status.ready).toBe(false);
    expect(status.lastGoodRevision).toBeUndefined();
    expect((await daemon.get("/readyz")).status).toBe(503);
    expect((await readdir(state)).some((f) => f.startsWith("last-good.json.corrupt-"))).toBe(true);
  });

  it("a folder in place of last-good.json: moved aside with a warning, and the revision is saved", async () => {
    const repo = await fleetRepo();
    const state = await stateDir();
    await mkdir(join(state, "last-good.json", "junk"), { recursive: true });
    const daemon = await startDaemon(repoArgs("run", repo.bare, state, ["--interval", "1h"]).slice(1));
    daemons.push(daemon);
    await waitUntil("ready", async () => (await daemon.get("/readyz")).status === 200, 30_000, daemon.logs);
    expect(daemon.logs()).toContain(
      `state file ${join(state, "last-good.json")} is not a regular file: moved aside as last-good.json.corrupt-`,
    );
    const saved = JSON.parse(await readFile(join(state, "last-good.json"), "utf8")) as { revision: string };
    const status = (await daemon.status()) as { lastGoodRevision?: string; lastCycle?: { result: string } };
    expect(saved.revision).toBe(status.lastGoodRevision);
    expect(status.lastCycle?.result).toBe("ok");
  });

  it("a torn ledger line is reported in the daemon's log with the file", async () => {
    const repo = await fleetRepo();
    const state = await stateDir();
    await appendFile(join(state, "ledger.jsonl"), `${ledgerLine(1)}\n{"time": "2026`);
    const daemon = await startDaemon(repoArgs("run", repo.bare, state, ["--interval", "1h"]).slice(1));
    daemons.push(daemon);
    await waitUntil("ready", async () => (await daemon.get("/readyz")).status === 200, 30_000, daemon.logs);
    expect(daemon.logs()).toMatch(/"level":40.*ledger\.jsonl has 1 unreadable line\(s\) \(line 2: not JSON/);
  });
});
