/** Smoke results and the sessions not yet seen destroyed, as `smoke.json` in the state dir. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EMPTY_SMOKE_STATE, type SmokeState } from "../core/kasm/smoke.js";
import type { SmokeStore } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { stateFileError } from "./state-file.js";

export const smokePath = (stateDir: string) => join(stateDir, "smoke.json");

/**
 * A missing file is no results and no sessions. A damaged one is an error, never an empty state: it may
 * hold the id of a session still running in Kasm, which a restart must destroy.
 */
export function createSmokeFile(stateDir: string): SmokeStore {
  const path = smokePath(stateDir);
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return structuredClone(EMPTY_SMOKE_STATE);
        throw stateFileError("read", path, error);
      }
      try {
        const value = JSON.parse(text) as Partial<SmokeState>;
        if (!value || typeof value.results !== "object" || !Array.isArray(value.pending))
          throw new Error("not a smoke state");
        return { results: value.results ?? {}, pending: value.pending };
      } catch (error) {
        throw stateFileError("read", path, error);
      }
    },
    write: (state: SmokeState) => writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`),
  };
}
