import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Plan } from "../src/core/plan/types.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import { inRepo, kasmGitops } from "./helpers/cli.js";
import { fleetYaml, stateDir, uniqueRepo } from "./helpers/fleet.js";
import { createTestRepo, type TestRepo } from "./helpers/git-repos.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const registry = lab.registries.plain;

/** A "registry" on loopback that accepts every connection and never says a word. */
async function hungServer(): Promise<{
  host: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a hung registry is bounded by --registry-timeout and named", () => {
  let hung: Awaited<ReturnType<typeof hungServer>>;
  let repo: TestRepo;
  let answered: string;
  const name = uniqueRepo("answered");

  beforeAll(async () => {
    hung = await hungServer();
    answered = (await pushRandomImage({ url: registry.url, repository: name, tag: "v1" })).digest;
    repo = await createTestRepo();
    await repo.commit(
      {
        "manifests/a.yaml": fleetYaml({
          registries: [
            { name: "hung", host: hung.host },
            { name: "corp", host: registry.host },
          ],
          agents: [{ name: "a1", host: engine.host }],
          workspaces: [
            { name: "stuck", image: `${hung.host}/kasm/stuck:v1`, registry: "hung" },
            { name: "fine", image: `${registry.host}/${name}:v1`, registry: "corp" },
          ],
        }),
      },
      "one hung registry",
    );
  });
  afterAll(async () => {
    await hung.close();
  });

  it.each([
    ["the flag", ["--registry-timeout", "2s"], {}, "2 s"],
    ["KASM_GITOPS_REGISTRY_TIMEOUT", [], { KASM_GITOPS_REGISTRY_TIMEOUT: "1s" }, "1 s"],
  ])(
    "through %s: plan finishes, names the registry, and still checks the one that answers",
    async (_, flags, env, within) => {
      const before = hung.connections();
      const result = await inRepo("plan", repo.bare, await stateDir(), ["--json", ...flags], { env });
      expect(result.code, result.stderr).toBe(0);
      const plan = JSON.parse(result.stdout) as Plan;
      expect(hung.connections()).toBeGreaterThan(before);
      expect(plan.warnings.filter((w) => w.code === "registry-error").map((w) => w.message)).toEqual([
        `registry "hung" did not answer within ${within} (--registry-timeout), so ${hung.host}/kasm/stuck:v1 was not checked`,
      ]);
      const pulls = plan.actions.filter((a) => a.type === "pull");
      // Plans are ordered by reference, and both hosts are random loopback ports: compare by image.
      const byImage = new Map(pulls.map((p) => [p.image, p.targetDigest]));
      expect(pulls).toHaveLength(2);
      expect(byImage.get(`${hung.host}/kasm/stuck:v1`)).toBeUndefined();
      expect(byImage.has(`${hung.host}/kasm/stuck:v1`)).toBe(true);
      expect(byImage.get(`${registry.host}/${name}:v1`)).toBe(answered);
    },
  );

  it("refuses a timeout under a second", async () => {
    const result = await inRepo("plan", repo.bare, await stateDir(), ["--registry-timeout", "0s"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--registry-timeout 0s is not a duration of at least 1s/);
  });
});

describe("run --refresh is judged by the refresh frequency rule", () => {
  it.each([
    ["* * * * * *", /--refresh: refresh "\* \* \* \* \* \*" runs as often as every 1 s/],
    ["*/20 * * * * *", /every 20 s/],
    ["not a cron", /--refresh "not a cron" is not a cron expression/],
  ])("%s is refused before anything starts", async (cron, message) => {
    const result = await kasmGitops([
      "run",
      "--repo",
      "/nonexistent",
      "--state-dir",
      await stateDir(),
      "--refresh",
      cron,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});
