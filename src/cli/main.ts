#!/usr/bin/env node
import { processIo } from "./process-io.js";
import { runCli } from "./run-cli.js";

/** The bin entry: wires the real process to the CLI and is the only place that exits. */
const controller = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => controller.abort(signal));
}
const code = await runCli(process.argv.slice(2), processIo({ stopSignal: controller.signal }));
process.exitCode = code;
