/**
 * lab.json: what the lab runs (services by role) and every process a lab command started in the folder
 * (`processes`), so `npm run demo -- --keep`, `npm run lab -- up` and `down` agree on what there is to stop,
 * whichever of them started it and however many engines each asked for.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownedByLab, processStartTime, type Recorded } from "./ownership.js";
import { isAlive, readPid } from "./processes.js";

/** A process a lab command started: `engine-3`, `engine-3/containerd` (dockerd's own), `registry-plain`, `kasm`. */
export type TrackedProcess = Recorded & { name: string };

/** lab.json as read: every part optional, since an older version or a crash may have written less. */
export type SavedState<Engine, Registry, Kasm> = {
  engines: Engine[];
  registries: { plain?: Registry; auth?: Registry };
  kasm?: Kasm;
  processes: TrackedProcess[];
};

export const stateFile = (dir: string) => join(dir, "lab.json");

export function loadState<E, R, K>(dir: string): SavedState<E, R, K> {
  try {
    const parsed = JSON.parse(readFileSync(stateFile(dir), "utf8")) as Partial<SavedState<E, R, K>>;
    return {
      engines: Array.isArray(parsed.engines) ? parsed.engines : [],
      registries: parsed.registries ?? {},
      ...(parsed.kasm ? { kasm: parsed.kasm } : {}),
      processes: Array.isArray(parsed.processes) ? parsed.processes : [],
    };
  } catch {
    return { engines: [], registries: {}, processes: [] };
  }
}

/** A record of `pid` as it runs now, with its start time when /proc has it. */
export function track(name: string, pid: number): TrackedProcess {
  const startTime = processStartTime(pid);
  return { name, pid, ...(startTime ? { startTime } : {}) };
}

/** The pid file dockerd's own containerd writes under the engine's exec root. */
export const containerdPidFile = (engineDir: string) =>
  join(engineDir, "exec", "containerd", "containerd.pid");

/** The containerd a lab dockerd in `engineDir` started, while it runs and is provably the lab's. */
export function engineContainerd(dir: string, name: string, engineDir: string): TrackedProcess | undefined {
  const pid = readPid(containerdPidFile(engineDir));
  if (!pid) return undefined;
  const record = track(`${name}/containerd`, pid);
  return ownedByLab(record, dir) ? record : undefined;
}

/**
 * dockerd and containerd processes found through the pid files of engine folders (`engine-N`, a test's
 * `swarm-…`) directly under `dir`, with no start time: an engine whose record an older lab.json lost.
 */
export function pidFileProcesses(dir: string): TrackedProcess[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
  const found: TrackedProcess[] = [];
  for (const name of names) {
    const dockerd = readPid(join(dir, name, "docker.pid"));
    if (dockerd) found.push({ name, pid: dockerd });
    const containerd = readPid(containerdPidFile(join(dir, name)));
    if (containerd) found.push({ name: `${name}/containerd`, pid: containerd });
  }
  return found;
}

/** One record per pid, the first kept (a record with a start time is listed before a pid file's). */
export function uniqueByPid(records: TrackedProcess[]): TrackedProcess[] {
  const seen = new Set<number>();
  return records.filter((r) => !seen.has(r.pid) && seen.add(r.pid));
}

/** Still running and provably the lab's: what lab.json keeps tracking. */
export const stillOwned = (records: TrackedProcess[], dir: string) =>
  records.filter((r) => isAlive(r.pid) && ownedByLab(r, dir));

/**
 * Writes lab.json atomically. `processes` joins what this command runs to what the file tracks now (read
 * again just before writing, so a lab command that ran meanwhile is not forgotten), keeping only the
 * processes still running and provably the lab's.
 */
export function saveState<E, R, K>(
  dir: string,
  state: Omit<SavedState<E, R, K>, "processes">,
  processes: TrackedProcess[],
): void {
  const current = existsSync(stateFile(dir)) ? loadState<E, R, K>(dir).processes : [];
  const tracked = stillOwned(uniqueByPid([...processes, ...current]), dir);
  const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ ...state, processes: tracked }, null, 2));
  renameSync(tmp, stateFile(dir));
}
