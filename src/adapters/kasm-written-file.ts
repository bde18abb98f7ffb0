/** What kasm-gitops last wrote to Kasm, as a JSON file in the state dir (keyed fingerprints, never secrets). */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CredentialsFingerprint, keyedFingerprint } from "../core/fingerprint.js";
import type { KasmWritten, KasmWrittenStore } from "../ports.js";
import { writeFileAtomic } from "./atomic-file.js";
import { stateFileError } from "./state-file.js";

export const kasmWrittenPath = (stateDir: string) => join(stateDir, "kasm-written.json");
/** The random key of the credential fingerprints: without it, a fingerprint cannot be tested against a guess. */
export const fingerprintKeyPath = (stateDir: string) => join(stateDir, "fingerprint.key");

const KEY_BYTES = 32;

/** A missing or unreadable file is an empty one: the next write puts it right, and nothing is lost but hints. */
export function createKasmWrittenFile(stateDir: string): KasmWrittenStore {
  const path = kasmWrittenPath(stateDir);
  let key: Promise<Buffer> | undefined;
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
    async fingerprinter(): Promise<CredentialsFingerprint> {
      key ??= fingerprintKey(stateDir);
      const secret = await key.catch((error) => {
        key = undefined;
        throw error;
      });
      return keyedFingerprint(secret);
    },
  };
}

/**
 * The state dir's fingerprint key, made on first use (owner-only, never overwritten). A key that is not
 * what we wrote is replaced: the fingerprints made with it no longer match, so each token is written once more.
 */
async function fingerprintKey(stateDir: string): Promise<Buffer> {
  const file = fingerprintKeyPath(stateDir);
  const existing = await readFile(file, "utf8").then(
    (text) => Buffer.from(text.trim(), "hex"),
    (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw stateFileError("read", file, error);
    },
  );
  if (existing?.length === KEY_BYTES) return existing;
  const fresh = randomBytes(KEY_BYTES);
  await mkdir(stateDir, { recursive: true });
  try {
    await writeFile(file, `${fresh.toString("hex")}\n`, { mode: 0o600, flag: existing ? "w" : "wx" });
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return fingerprintKey(stateDir);
    throw stateFileError("write", file, error);
  }
  return fresh;
}
