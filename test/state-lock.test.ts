import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createFileLedger } from "../src/adapters/ledger-file.js";
import { parseImageReference } from "../src/core/image/reference.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { type RegistryProxy, startRegistryProxy } from "../src/lab/registry-proxy.js";
import { BIN, inRepo, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const LIMIT = 1;

/** Three fresh images on one agent limited to one pull at a time, behind a proxy that slows blobs. */
async function slowFleet(proxy: RegistryProxy): Promise<{ repo: TestRepo; refs: string[] }> {
  const prefix = uniqueRepo("locked");
  const refs = ["a", "b", "c"].map((n) => `${proxy.host}/${prefix}-${n}:v1`);
  for (const ref of refs) {
    const { repository, tag } = parseImageReference(ref);
    await pushRandomImage({ url: proxy.url, repository, tag: tag! });
  }
  const repo = await createTestRepo();
  await repo.commit(
    {
      "manifests/a.yaml": fleetYaml({
        registries: [{ name: "corp", host: proxy.host }],
        agents: [{ name: "a1", host: engine.host, maxConcurrentPulls: LIMIT }],
        workspaces: refs.map((image, i) => ({ name: `ws-${i}`, image, registry: "corp" })),
      }),
    },
    "three images",
  );
  return { repo, refs };
}

/** The pulls the ledger records (not what a rebuild found on the agents). */
const ledgerLines = async (state: string) =>
  (await createFileLedger(state).entries()).filter((e) => !e.rebuilt);

describe("one command at a time per state dir", () => {
  let proxy: RegistryProxy;
  beforeAll(async () => {
    proxy = await startRegistryProxy({ upstream: lab.registries.plain.url });
  });
  afterAll(() => proxy?.close());

  it("two applies at once: the second waits, pulls stay within the limit, the ledger has each pull once", async () => {
    const { repo, refs } = await slowFleet(proxy);
    const state = await stateDir();
    proxy.reset();
    proxy.setBehaviour({ delayMs: 300 });
    const [first, second] = await Promise.all([
      inRepo("apply", repo.bare, state, ["--json"]),
      inRepo("apply", repo.bare, state, ["--json"]),
    ]);
    proxy.setBehaviour({ delayMs: 0 });
    expect([first.code, second.code], first.stderr + second.stderr).toEqual([0, 0]);
    const ledger = await ledgerLines(state);
    expect(ledger.map((e) => e.image).sort()).toEqual([...refs].sort());
    expect(proxy.stats().maxRepositoriesInFlight).toBeLessThanOrEqual(LIMIT);
    expect(`${first.stderr}${second.stderr}`).toMatch(
      /kasm-gitops: waiting for the state dir .* in use by pid \d+ on .* \(kasm-gitops apply, since /,
    );
  });

  it("a daemon holds the state dir for its life: --no-wait fails at once, a plan waits, a killed holder's lock is recovered", async () => {
    const { repo } = await slowFleet(proxy);
    const state = await stateDir();
    const [, ...args] = repoArgs("run", repo.bare, state, ["--interval", "1h"]);
    const daemon = await startDaemon(args);
    try {
      const refused = await inRepo("plan", repo.bare, state, ["--no-wait", "--no-refresh"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^kasm-gitops: error: the state dir ${state} is in use by pid ${daemon.process.pid} on .* \\(kasm-gitops run, since .*\\); run again when it is done, or without --no-wait to wait\\n$`,
        ),
      );
      // SIGKILL leaves the lock file behind; the next command finds its holder gone and takes over.
      expect(await daemon.stop("SIGKILL")).toBe(null);
      const recovered = await inRepo("plan", repo.bare, state, ["--no-wait", "--no-refresh"]);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stderr).toMatch(
        new RegExp(`removed a stale lock on ${state} \\(pid ${daemon.process.pid} .*no longer running\\)`),
      );
    } finally {
      await daemon.stop("SIGKILL");
    }
    // A plan started while a daemon runs waits for it, and runs once it stops.
    const next = await startDaemon(args);
    const plan = spawn(process.execPath, [BIN, ...repoArgs("plan", repo.bare, state, ["--no-refresh"])]);
    let stderr = "";
    plan.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exit = new Promise<number | null>((resolve) => plan.on("exit", resolve));
    await waitUntil(
      "the plan to wait",
      async () => stderr.includes("waiting for the state dir"),
      30_000,
      () => stderr,
    );
    expect(stderr).toMatch(/waiting for the state dir .* in use by pid \d+ .*\(kasm-gitops run, since /);
    expect(await next.stop("SIGTERM")).toBe(0);
    expect(await exit, stderr).toBe(0);
  });
});
