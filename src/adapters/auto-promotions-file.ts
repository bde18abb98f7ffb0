/** The auto-promotions the daemon proposed, as `auto-promotions.json` in the state dir: one per digest, ever. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AutoPromotionStore, ProposedPromotion } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { stateFileError } from "./state-file.js";

export const autoPromotionsPath = (stateDir: string) => join(stateDir, "auto-promotions.json");

/**
 * A missing file is nothing proposed yet. A damaged one is an error, never an empty record: read as empty,
 * it would let the daemon propose again a promotion a person already reverted.
 */
export function createAutoPromotionsFile(stateDir: string): AutoPromotionStore {
  const path = autoPromotionsPath(stateDir);
  const read = async (): Promise<Record<string, ProposedPromotion>> => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw stateFileError("read", path, error);
    }
    try {
      const value = JSON.parse(text) as { proposed?: unknown };
      if (
        !value ||
        typeof value.proposed !== "object" ||
        value.proposed === null ||
        Array.isArray(value.proposed)
      )
        throw new Error("not a record of auto-promotions");
      return value.proposed as Record<string, ProposedPromotion>;
    } catch (error) {
      throw stateFileError("read", path, error);
    }
  };
  return {
    read,
    async add(key, proposal) {
      const proposed = { ...(await read()), [key]: proposal };
      await writeFileAtomic(path, `${JSON.stringify({ proposed }, null, 2)}\n`);
    },
  };
}
