import { readFileSync } from "node:fs";
import { describeError, KasmGitopsError } from "../core/errors.js";
import { closest } from "../core/suggest.js";
import { formatOptions, parseCommandArgs } from "./args.js";
import type { Command } from "./command.js";
import { COMMANDS } from "./commands.js";
import { logFlags } from "./flags.js";
import type { CliIo } from "./io.js";

/** The package version, read once from package.json beside src/ or dist/. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;

function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "kasm-gitops: GitOps for Kasm Workspaces images",
    "",
    "Usage: kasm-gitops <command> [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Flags:",
    "  --help     show help (also: kasm-gitops <command> --help)",
    "  --version  print the version",
    "",
    "Every flag can also be set as KASM_GITOPS_<FLAG> (e.g. KASM_GITOPS_REPO); flags win.",
    "",
  ].join("\n");
}

function commandHelp(command: Command): string {
  return `${command.summary}\n\nUsage: ${command.usage}\n\nFlags:\n${formatOptions(command.options)}\n`;
}

/** Runs one command line and returns its exit code; the caller (bin) is the only one that exits. */
export async function runCli(argv: string[], io: CliIo, commands: Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.stdout(mainHelp(commands));
    return first === undefined ? 1 : 0;
  }
  if (first === "--version" || first === "-V") {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  try {
    if (!command) {
      const flag = first.startsWith("-");
      const names = flag ? ["--help", "--version"] : commands.map((c) => c.name);
      const guess = closest(first, names);
      throw new KasmGitopsError(
        "usage",
        `${flag ? "unknown flag" : "unknown command"} '${first}'${guess ? `; did you mean ${guess}?` : ""} (commands: ${commands.map((c) => c.name).join(", ")}; see kasm-gitops --help)`,
      );
    }
    const args = parseCommandArgs(command.name, rest, command.options, io.env);
    if (args.values.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    // A mistyped log flag is refused before any work, whichever command logs.
    logFlags(args);
    return await command.run({ args, io });
  } catch (error) {
    const prefix = error instanceof KasmGitopsError && error.code === "usage" ? "usage error" : "error";
    io.stderr(`kasm-gitops: ${prefix}: ${describeError(error)}\n`);
    return 1;
  }
}
