import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CliIo } from "../../src/cli/io.js";

/** The built command (`npm test` builds first). */
export const BIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const exec = promisify(execFile);

export type CliResult = { code: number; stdout: string; stderr: string };

/** Runs the built binary as a user would (`npm test` builds first); resolves with exit code and output. */
export async function kasmGitops(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** One event of `apply --json`. */
export type Line = Record<string, unknown> & { event: string };

/** The JSON lines of `apply --json` output. */
export const lines = (stdout: string): Line[] =>
  stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);

/** The arguments every repo test passes: a test repo's `manifests/` folder and its own state dir. */
export const repoArgs = (command: string, bare: string, state: string, extra: string[] = []): string[] => [
  command,
  "--repo",
  bare,
  "--path",
  "manifests",
  "--state-dir",
  state,
  ...extra,
];

/** Runs a command against a test repo's `manifests/` folder. */
export function inRepo(
  command: string,
  bare: string,
  state: string,
  extra: string[] = [],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return kasmGitops(repoArgs(command, bare, state, extra), options);
}

/** Collects output in memory: for in-process CLI tests. */
export function memoryIo(overrides: Partial<CliIo> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: {},
    cwd: process.cwd(),
    isTTY: false,
    ...overrides,
  };
}
