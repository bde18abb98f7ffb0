#!/usr/bin/env node
import { startKasmStandIn } from "./kasm-stand-in.js";

/**
 * The Kasm API stand-in as a detached process for the lab: `node dist/lab/kasm-server.js --port P
 * --state-file F [--add-images-to-default-group on|off] [--report-interval-ms MS]`. Keys and records live in the state file, so a restart keeps them; the call log does not.
 */
function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number.parseInt(flag("port") ?? "0", 10);
const stateFile = flag("state-file");
if (!Number.isInteger(port) || port < 0 || !stateFile) {
  process.stderr.write(
    "usage: kasm-server --port P --state-file F [--host 127.0.0.1] [--add-images-to-default-group on|off]\n",
  );
  process.exit(2);
}
const defaultGroup = flag("add-images-to-default-group");
if (defaultGroup !== undefined && defaultGroup !== "on" && defaultGroup !== "off") {
  process.stderr.write("--add-images-to-default-group takes on or off\n");
  process.exit(2);
}
const reportInterval = flag("report-interval-ms");
const standIn = await startKasmStandIn({
  host: flag("host") ?? "127.0.0.1",
  port,
  stateFile,
  ...(reportInterval ? { reportIntervalMs: Number.parseInt(reportInterval, 10) } : {}),
  ...(defaultGroup ? { addImagesToDefaultGroup: defaultGroup === "on" } : {}),
});
process.stdout.write(`kasm stand-in listening on ${standIn.url}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    standIn.close().finally(() => process.exit(0));
  });
}
