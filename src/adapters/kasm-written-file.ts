/** What kasm-gitops last wrote to Kasm, as a JSON file in the state dir (fingerprints, never secrets). */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { KasmWritten, KasmWrittenStore } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";

export const kasmWrittenPath = (stateDir: string) => join(stateDir, "kasm-written.json");

/** A missing or unreadable file is an empty one: the next write puts it right, and nothing is lost but hints. */
export function createKasmWrittenFile(stateDir: string): KasmWrittenStore {
  const path = kasmWrittenPath(stateDir);
  return {
    async read() {
      try {
        const value = JSON.parse(await readFile(path, "utf8")) as Partial<KasmWritten>;
        return {
          records: value.records && typeof value.records === "object" ? value.records : {},
          groups: Array.isArray(value.groups) ? value.groups.filter((g) => typeof g === "string") : [],
        };
      } catch {
        return { records: {}, groups: [] };
      }
    },
    write: (written) => writeFileAtomic(path, `${JSON.stringify(written, null, 2)}\n`),
  };
}
