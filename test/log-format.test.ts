import { describe, expect, inject, it } from "vitest";
import { inRepo, repoArgs } from "./helpers/cli.js";
import { startDaemon, waitUntil } from "./helpers/daemon.js";
import { privateFleet, stateDir } from "./helpers/fleet.js";
import { inTerminal } from "./helpers/terminal.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const ESC = "\u001b";
/** A pretty line's start: time, level padded to five, message. */
const PRETTY = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;
const logLines = (text: string) => text.split(/\r?\n/).filter((line) => line.trim() !== "");

describe("--log-format", () => {
  it("run --log-format pretty: one readable line per record, operator fields first, no colour when piped", async () => {
    const fleet = await privateFleet(lab.registries.auth, engine.host);
    const [, ...args] = repoArgs("run", fleet.repo.bare, fleet.state, ["--log-format", "pretty"]);
    const daemon = await startDaemon(args, { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password });
    try {
      await waitUntil("the pull", async () => / pull done /.test(daemon.logs()), 60_000, daemon.logs);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    const lines = logLines(daemon.logs());
    for (const line of lines) expect(line).toMatch(PRETTY);
    expect(daemon.logs()).not.toContain(ESC);
    expect(daemon.logs()).not.toContain(fleet.password);
    expect(lines.find((l) => l.includes(" kasm-gitops started "))).toMatch(/ branch=main role=reconciler$/);
    expect(lines.find((l) => l.includes(" pull done "))).toMatch(
      new RegExp(` INFO {2}pull done .*image=${fleet.image} revision=[0-9a-f]{40} cycle=\\S+ `),
    );
    expect(lines.at(-1)).toMatch(/ INFO {2}stopped$/);
  });

  it("is JSON by default, pretty by flag or KASM_GITOPS_LOG_FORMAT, for every command that logs", async () => {
    const fleet = await privateFleet(lab.registries.auth, engine.host);
    const env = { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password };
    const plan = (extra: string[], more: Record<string, string> = {}) =>
      inRepo("plan", fleet.repo.bare, fleet.state, ["--log-level", "debug", ...extra], {
        env: { ...env, ...more },
      });

    const json = await plan([]);
    expect(json.code, json.stderr).toBe(0);
    const records = logLines(json.stderr).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(expect.objectContaining({ msg: "agent listImages", agent: "a1" }));

    for (const pretty of [
      await plan(["--log-format", "pretty"]),
      await plan([], { KASM_GITOPS_LOG_FORMAT: "pretty" }),
    ]) {
      expect(pretty.code, pretty.stderr).toBe(0);
      const lines = logLines(pretty.stderr);
      expect(lines).toHaveLength(records.length);
      for (const line of lines) expect(line).toMatch(PRETTY);
      expect(lines).toContainEqual(expect.stringMatching(/ DEBUG agent listImages agent=a1 /));
    }
  });

  it.each([
    [["--log-format", "prety"], {}, "--log-format prety: use json, pretty; did you mean pretty?"],
    [["--log-format", "JSON"], {}, "--log-format JSON: use json, pretty; did you mean json?"],
    [[], { KASM_GITOPS_LOG_FORMAT: "text" }, "--log-format text: use json, pretty"],
    [
      ["--log-level", "debgu"],
      {},
      "--log-level debgu: use trace, debug, info, warn, error, fatal, silent; did you mean debug?",
    ],
  ])("%j %j is a usage error saying what to use", async (flags, env, message) => {
    const state = await stateDir();
    const result = await inRepo("plan", "/nonexistent-kasm-repo", state, flags, { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`kasm-gitops: usage error: ${message}\n`);
  });

  it("colours the level on a terminal, and not with NO_COLOR", async () => {
    const fleet = await privateFleet(lab.registries.auth, engine.host);
    const args = repoArgs("plan", fleet.repo.bare, fleet.state, [
      "--log-level",
      "debug",
      "--log-format",
      "pretty",
    ]);
    const env = { KASM_SECRET_LAB_REGISTRY_PASSWORD: fleet.password };
    const coloured = await inTerminal(args, 200, env);
    expect(coloured.code, coloured.output).toBe(0);
    expect(coloured.output).toContain(`${ESC}[90mDEBUG${ESC}[0m agent listImages agent=a1 `);
    const plain = await inTerminal(args, 200, { ...env, NO_COLOR: "1" });
    expect(plain.code, plain.output).toBe(0);
    expect(plain.output).toMatch(/Z DEBUG agent listImages agent=a1 /);
    expect(plain.output).not.toContain(ESC);
  });
});
