import { describe, expect, it } from "vitest";
import { parseCommandArgs } from "../src/cli/args.js";
import { COMMANDS } from "../src/cli/commands.js";
import { useColor } from "../src/cli/io.js";
import { runCli, VERSION } from "../src/cli/run-cli.js";
import { kasmGitops, memoryIo } from "./helpers/cli.js";

describe("the command line", () => {
  it("prints the package version", async () => {
    const result = await kasmGitops(["--version"]);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("lists every subcommand in --help", async () => {
    const result = await kasmGitops(["--help"]);
    expect(result.code).toBe(0);
    for (const name of ["validate", "plan", "apply", "run"])
      expect(result.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it.each([
    [["frob"], /^kasm-gitops: usage error: unknown command 'frob'/],
    [["--frob"], /^kasm-gitops: usage error: unknown flag '--frob'/],
    [["plan", "--bogus"], /^kasm-gitops: usage error: plan: unknown option '--bogus'/],
    [["validate", "--out", "x"], /^kasm-gitops: usage error: validate: unknown option '--out'/],
    [["run", "--listen"], /^kasm-gitops: usage error: run: option '--listen <value>' argument missing/],
  ])("%j is a usage error on one line with exit 1", async (args, message) => {
    const result = await kasmGitops(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each(["validate", "plan", "apply", "run"])("%s --help shows its usage and exits 0", async (name) => {
    const io = memoryIo();
    expect(await runCli([name, "--help"], io)).toBe(0);
    expect(io.out.join("")).toContain(`Usage: kasm-gitops ${name}`);
  });

  it("reads KASM_GITOPS_* variables, and flags win over them", async () => {
    let seen: unknown;
    const probe = [
      {
        name: "probe",
        summary: "",
        usage: "",
        options: {
          repo: { type: "string" as const, description: "" },
          agent: { type: "string" as const, multiple: true, description: "" },
        },
        run: async ({ args }: { args: { values: unknown } }) => {
          seen = args.values;
          return 0;
        },
      },
    ];
    const env = { KASM_GITOPS_REPO: "/from/env", KASM_GITOPS_AGENT: "a1, a2" };
    await runCli(["probe"], memoryIo({ env }), probe);
    expect(seen).toEqual({ repo: "/from/env", agent: ["a1", "a2"] });
    await runCli(["probe", "--repo", "/from/flag"], memoryIo({ env }), probe);
    expect(seen).toEqual({ repo: "/from/flag", agent: ["a1", "a2"] });
  });

  it.each([
    ["plan", { branch: "release" }],
    ["promote", {}],
  ])("KASM_GITOPS_BRANCH fills %s's flags as %j (promote --branch names a new branch)", (name, expected) => {
    const command = COMMANDS.find((c) => c.name === name)!;
    const { values } = parseCommandArgs(name, [], command.options, { KASM_GITOPS_BRANCH: "release" });
    expect(values).toEqual(expected);
  });
});

describe("colour", () => {
  it.each([
    [true, {}, true],
    [true, { NO_COLOR: "1" }, false],
    [false, {}, false],
  ])("isTTY %s with %j → colour %s", (isTTY, env, expected) => {
    expect(useColor(memoryIo({ isTTY, env }))).toBe(expected);
  });
});
