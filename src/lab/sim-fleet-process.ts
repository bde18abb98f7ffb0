/**
 * The child process of forkSimFleet: starts the simulated engines and the counting proxy from the options in
 * argv[2], then answers the parent's IPC commands (start, stats, reset, close) until it is told to close.
 */
import { readFileSync } from "node:fs";
import { type SimFleetOptions, startSimFleet } from "./sim-fleet.js";

const options = JSON.parse(process.argv[2] ?? "{}") as SimFleetOptions;
let fleet: Awaited<ReturnType<typeof startSimFleet>> | undefined;

/** VmRSS and VmHWM of this process, in MB. */
function memory() {
  const status = readFileSync("/proc/self/status", "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssMB: kb("VmRSS") / 1024, peakRssMB: kb("VmHWM") / 1024 };
}

async function run(command: string): Promise<unknown> {
  if (command === "start") {
    fleet = await startSimFleet(options);
    return { hosts: fleet.hosts, registryHost: fleet.registryHost };
  }
  if (!fleet) throw new Error(`"${command}" before "start"`);
  if (command === "stats") {
    const cpu = process.cpuUsage();
    return { ...fleet.stats(), ...memory(), cpuMs: (cpu.user + cpu.system) / 1000 };
  }
  if (command === "reset") return fleet.reset();
  if (command === "close") {
    const closing = fleet;
    fleet = undefined;
    await closing.close();
    return undefined;
  }
  throw new Error(`unknown command "${command}"`);
}

process.on("message", (message: { id: number; command: string }) => {
  run(message.command).then(
    (result) => {
      process.send?.({ id: message.id, result });
      if (message.command === "close") process.disconnect?.();
    },
    (error: Error) => process.send?.({ id: message.id, error: error.message }),
  );
});
// The parent went away: nothing is left to serve.
process.on("disconnect", () => {
  if (!fleet) return process.exit(0);
  void fleet.close().finally(() => process.exit(0));
});
