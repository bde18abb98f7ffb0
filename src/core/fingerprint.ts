/** Keyed fingerprints of registry credentials: a rotated password tells itself apart, a guessed one cannot be checked. */
import { createHmac } from "node:crypto";

/** A resolved user and password (the ports re-export this shape). */
type Credentials = { username: string; password: string };

export type CredentialsFingerprint = (host: string, credentials: Credentials) => string;

/** HMAC-SHA256 under `key` of the host, user and password: never a bare hash of a secret. */
export function keyedFingerprint(key: Buffer): CredentialsFingerprint {
  return (host, credentials) =>
    createHmac("sha256", key)
      .update(JSON.stringify([host, credentials.username, credentials.password]))
      .digest("hex");
}
