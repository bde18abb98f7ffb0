import { applyEntry } from "./apply-command.js";
import type { Command } from "./command.js";
import { importEntry } from "./import-command.js";
import { planEntry } from "./plan-command.js";
import { promoteEntry } from "./promote-command.js";
import { runEntry } from "./run-command.js";
import { smokeEntry } from "./smoke-command.js";
import { updateEntry } from "./update-command.js";
import { validateEntry } from "./validate-command.js";

/** The command table: one parser serves all of them (src/cli/run-cli.ts); each command declares its own options. */
export const COMMANDS: Command[] = [
  validateEntry,
  planEntry,
  applyEntry,
  promoteEntry,
  updateEntry,
  importEntry,
  runEntry,
  smokeEntry,
];
