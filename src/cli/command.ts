/** The shape every subcommand has, apart from the command table, so commands never import the table. */
import type { OptionTable, ParsedArgs } from "./args.js";
import type { CliIo } from "./io.js";

/** What a command receives: its parsed flags and the outside world it may use. */
export type CommandContext = { args: ParsedArgs; io: CliIo };
/** A subcommand: its flags, help text, and the function that returns its exit code. */
export type Command = {
  name: string;
  summary: string;
  usage: string;
  options: OptionTable;
  run: (context: CommandContext) => Promise<number>;
};
