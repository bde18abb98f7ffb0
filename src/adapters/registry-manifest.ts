/**
 * Manifest bytes: reading them with a size cap, hashing them, and naming their media type, so what
 * promotion copies is exactly what the registry's digest names.
 */
import { createHash } from "node:crypto";
import { KasmGitopsError } from "../core/errors.js";
import type { RegistryErrorContext } from "./registry-errors.js";

/** Registries cap manifests at a few MiB; refusing more protects memory from a misbehaving server. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const HASHES: Record<string, string> = { sha256: "sha256", sha384: "sha384", sha512: "sha512" };
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** Whether a header value is a digest this client can verify. */
export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** A content type without parameters (`; charset=utf-8`), as the manifest media type. */
export function mediaTypeOf(headers: Headers): string {
  return (headers.get("content-type") ?? "").split(";")[0]!.trim();
}

/** `algorithm:hex` of the bytes; an algorithm we cannot compute is hashed as sha256, so it never matches. */
export function digestOf(body: Buffer, algorithm = "sha256"): string {
  const used = HASHES[algorithm] ? algorithm : "sha256";
  return `${used}:${createHash(used).update(body).digest("hex")}`;
}

/** The body, refused past a cap before and after reading, because a manifest is never that large. */
export async function readLimited(response: Response, context: RegistryErrorContext): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  const tooLarge = () =>
    new KasmGitopsError(
      "registry-error",
      `${context.host}/${context.repository}:${context.reference}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`,
      context,
    );
  if (declared > MAX_MANIFEST_BYTES) throw tooLarge();
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_MANIFEST_BYTES) throw tooLarge();
  return body;
}

/** The `mediaType` field of a manifest, for registries that answer without a Content-Type. */
export function embeddedMediaType(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { mediaType?: unknown };
    return typeof parsed.mediaType === "string" ? parsed.mediaType : "";
  } catch {
    return "";
  }
}
