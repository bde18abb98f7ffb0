import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { digestOf } from "../adapters/registry-manifest.js";
import { type LabProgram, labExecutable } from "./lab-binary.js";

/** Media types of the OCI image format the lab pushes. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

export type Platform = { os: string; architecture: string; variant?: string };
export type PushTarget = {
  /** Base URL of the registry, e.g. `http://127.0.0.1:5000`. */
  url: string;
  repository: string;
  tag: string;
  auth?: { username: string; password: string };
};
export type PushedImage = {
  /** `host:port/repository:tag` as an agent would pull it. */
  reference: string;
  /** Digest of what the tag points at: the index for multi-platform pushes. */
  digest: string;
  mediaType: string;
  /** Digest of each platform's manifest, in push order. */
  manifests: { platform: Platform; digest: string }[];
  /** Total bytes of the blobs pushed. */
  size: number;
};

/** The registry's digest of some bytes (or text), computed the way the registry client checks it. */
export const sha256 = (data: Buffer | string): string =>
  digestOf(typeof data === "string" ? Buffer.from(data) : data);

/** A one-file ustar archive: enough for a valid image layer without shelling out to tar. */
export function tarOneFile(name: string, content: Buffer, mtime = 0, mode = 0o644): Buffer {
  const header = Buffer.alloc(512, 0);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, "ascii");
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0");
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(content.length, 12));
  field(136, 12, octal(mtime, 12));
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 6, "ustar");
  field(263, 2, "00");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${octal(sum, 7)}\0`);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

function headers(target: PushTarget, extra: Record<string, string> = {}): Record<string, string> {
  if (!target.auth) return extra;
  const basic = Buffer.from(`${target.auth.username}:${target.auth.password}`).toString("base64");
  return { authorization: `Basic ${basic}`, ...extra };
}

async function expectStatus(response: Response, expected: number[], what: string): Promise<Response> {
  if (!expected.includes(response.status)) {
    const body = await response.text().catch(() => "");
    throw new Error(`${what}: HTTP ${response.status} ${body.slice(0, 300)}`);
  }
  return response;
}

/** Uploads a blob with the monolithic POST-then-PUT flow, skipping one the registry already holds. */
export async function pushBlob(target: PushTarget, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const base = `${target.url}/v2/${target.repository}/blobs`;
  const head = await fetch(`${base}/${digest}`, { method: "HEAD", headers: headers(target) });
  if (head.status === 200) return digest;
  const start = await expectStatus(
    await fetch(`${base}/uploads/`, { method: "POST", headers: headers(target) }),
    [202],
    `start upload to ${target.repository}`,
  );
  const location = new URL(start.headers.get("location") ?? "", target.url);
  location.searchParams.set("digest", digest);
  await expectStatus(
    await fetch(location, {
      method: "PUT",
      headers: headers(target, { "content-type": "application/octet-stream" }),
      body: data,
    }),
    [201],
    `upload blob ${digest}`,
  );
  return digest;
}

/** PUTs a manifest under `reference` (tag or digest) and returns the registry's Docker-Content-Digest. */
export async function putManifest(target: PushTarget, reference: string, mediaType: string, body: Buffer) {
  const response = await expectStatus(
    await fetch(`${target.url}/v2/${target.repository}/manifests/${reference}`, {
      method: "PUT",
      headers: headers(target, { "content-type": mediaType }),
      body,
    }),
    [201],
    `put manifest ${target.repository}:${reference}`,
  );
  return response.headers.get("docker-content-digest") ?? sha256(body);
}

/** The lab image's one program, run as its entrypoint (linux/amd64 only). */
const PROGRAM_PATH = "kasm-gitops-lab";

async function pushPlatformImage(target: PushTarget, platform: Platform, marker: string, run?: LabProgram) {
  const file = Buffer.from(`kasm-gitops lab image ${target.repository}:${target.tag} ${marker}\n`);
  // A runnable image carries a program whose bytes end with the marker, so each push is still a new digest.
  const tar = run
    ? tarOneFile(PROGRAM_PATH, Buffer.concat([labExecutable(run), Buffer.from(marker)]), 0, 0o755)
    : tarOneFile("kasm-gitops-lab.txt", file);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {
        Labels: { "org.kasm-gitops.lab": marker },
        ...(run ? { Entrypoint: [`/${PROGRAM_PATH}`] } : {}),
      },
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    }),
  );
  const layerDigest = await pushBlob(target, layer);
  const configDigest = await pushBlob(target, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  return { manifest, size: layer.length + config.length + manifest.length };
}

/**
 * Pushes an image with random content under `target.tag`, so a second push of the same tag moves it
 * to a new digest. One platform gives an OCI manifest; several give an OCI index over them. With `run`, the
 * image's entrypoint is a tiny program that keeps running (`stays`) or exits at once (`exits`).
 */
export async function pushRandomImage(
  target: PushTarget,
  platforms: Platform[] = [{ os: "linux", architecture: "amd64" }],
  run?: LabProgram,
): Promise<PushedImage> {
  const marker = randomBytes(16).toString("hex");
  const host = new URL(target.url).host;
  const reference = `${host}/${target.repository}:${target.tag}`;
  if (platforms.length === 1) {
    const { manifest, size } = await pushPlatformImage(target, platforms[0]!, marker, run);
    const digest = await putManifest(target, target.tag, OCI_MANIFEST, manifest);
    return {
      reference,
      digest,
      mediaType: OCI_MANIFEST,
      manifests: [{ platform: platforms[0]!, digest }],
      size,
    };
  }
  const manifests: PushedImage["manifests"] = [];
  const entries = [];
  let size = 0;
  for (const platform of platforms) {
    const pushed = await pushPlatformImage(target, platform, marker, run);
    const digest = await putManifest(target, sha256(pushed.manifest), OCI_MANIFEST, pushed.manifest);
    manifests.push({ platform, digest });
    entries.push({ mediaType: OCI_MANIFEST, digest, size: pushed.manifest.length, platform });
    size += pushed.size;
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }));
  const digest = await putManifest(target, target.tag, OCI_INDEX, index);
  return { reference, digest, mediaType: OCI_INDEX, manifests, size: size + index.length };
}
