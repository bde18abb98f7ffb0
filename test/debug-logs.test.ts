import { describe, expect, inject, it } from "vitest";
import { inRepo } from "./helpers/cli.js";
import { privateFleet } from "./helpers/fleet.js";

const lab = inject("lab");
const engine = lab.engines[0]!;

type LogLine = { level: number; msg: string } & Record<string, unknown>;
const logLines = (stderr: string): LogLine[] =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
const debug = (stderr: string, msg: string) =>
  logLines(stderr).filter((l) => l.level === 20 && l.msg === msg);

describe("--log-level debug", () => {
  it("logs registry requests, agent calls and the plan's decisions, never the password; nothing at info", async () => {
    const fleet = await privateFleet(lab.registries.auth, engine.host);
    const env = { env: { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password } };
    const quiet = await inRepo("plan", fleet.repo.bare, fleet.state, ["--json"], env);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(logLines(quiet.stderr)).toEqual([]);

    const plan = await inRepo("plan", fleet.repo.bare, fleet.state, ["--json", "--log-level", "debug"], env);
    expect(plan.code, plan.stderr).toBe(0);
    const repository = fleet.image.slice(lab.registries.auth.host.length, fleet.image.lastIndexOf(":"));
    expect(debug(plan.stderr, "registry request")).toContainEqual(
      expect.objectContaining({
        method: "HEAD",
        url: `${lab.registries.auth.host}/v2${repository}/manifests/v1`,
        status: 200,
        durationMs: expect.any(Number),
      }),
    );
    expect(debug(plan.stderr, "agent listImages")).toEqual([
      expect.objectContaining({ agent: "a1", images: expect.any(Number), durationMs: expect.any(Number) }),
    ]);
    expect(debug(plan.stderr, "plan decisions")).toEqual([
      expect.objectContaining({
        pulls: { missing: 1 },
        pullsByAgent: { a1: 1 },
        promotions: 0,
        blockedTotal: 0,
      }),
    ]);

    const apply = await inRepo(
      "apply",
      fleet.repo.bare,
      fleet.state,
      ["--json", "--log-level", "debug"],
      env,
    );
    expect(apply.code, apply.stderr).toBe(0);
    expect(debug(apply.stderr, "agent pull")).toEqual([
      expect.objectContaining({
        agent: "a1",
        workspace: expect.any(String),
        image: fleet.image,
        digest: fleet.digest,
      }),
    ]);
    for (const output of [plan.stdout, plan.stderr, apply.stdout, apply.stderr])
      expect(output).not.toContain(fleet.password);
  });
});
