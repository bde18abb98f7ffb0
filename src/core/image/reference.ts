import { type ImageReferencePart, KasmGitopsError } from "../errors.js";

/** An image reference normalised the way Docker's reference library does it. */
export type ImageReference = {
  /** Registry host as used in image references (`docker.io` for Docker Hub), with `:port` when given. */
  registry: string;
  /** Repository path inside the registry (`library/ubuntu`). */
  repository: string;
  tag?: string;
  digest?: string;
  /** `registry/repository[:tag][@digest]`, with `:latest` added when neither tag nor digest is given. */
  canonical: string;
};

/** Thrown for a reference Docker would refuse; `part` names what is wrong so editors and logs can point at it. */
export class ImageReferenceError extends KasmGitopsError<"invalid-image-reference"> {
  constructor(
    readonly input: string,
    readonly part: ImageReferencePart,
    detail: string,
  ) {
    super("invalid-image-reference", `invalid image reference ${JSON.stringify(input)}: ${detail}`, {
      input,
      part,
    });
    this.name = "ImageReferenceError";
  }
}

export const DOCKER_HUB = "docker.io";
const NAME_MAX = 255;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HEX64_RE = /^[a-f0-9]{64}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
/** Hex lengths of the algorithms go-digest registers; any other algorithm cannot be verified. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Splits `name` into domain and path exactly like Docker's splitDockerDomain. */
function splitDomain(name: string): { domain: string; path: string; explicit: boolean } {
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const isDomain =
    slash !== -1 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  if (!isDomain) return { domain: DOCKER_HUB, path: name, explicit: false };
  const domain = first === "index.docker.io" ? DOCKER_HUB : first;
  return { domain, path: name.slice(slash + 1), explicit: true };
}

function validateDigest(input: string, digest: string): void {
  if (!DIGEST_RE.test(digest)) {
    throw new ImageReferenceError(
      input,
      "digest",
      `digest "${digest}" is not algorithm:hex (at least 32 hex)`,
    );
  }
  const [algorithm, hex] = digest.split(":") as [string, string];
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) {
    throw new ImageReferenceError(input, "digest", `unsupported digest algorithm "${algorithm}"`);
  }
  if (hex.length !== length || hex !== hex.toLowerCase()) {
    throw new ImageReferenceError(
      input,
      "digest",
      `${algorithm} digest must be ${length} lower-case hex characters, got "${hex}"`,
    );
  }
}

function validatePath(input: string, path: string): void {
  if (path === "") throw new ImageReferenceError(input, "repository", "repository name is empty");
  for (const component of path.split("/")) {
    if (component === "") {
      throw new ImageReferenceError(input, "repository", `repository "${path}" has an empty path component`);
    }
    if (!PATH_COMPONENT_RE.test(component.toLowerCase())) {
      throw new ImageReferenceError(
        input,
        "repository",
        `"${component}" is not a valid path component (letters and digits, separated by ".", "_", "__" or "-")`,
      );
    }
    if (component.toLowerCase() !== component) {
      throw new ImageReferenceError(input, "repository", `repository "${path}" must be lower-case`);
    }
  }
}

/** Parsed references, frozen and shared: a fleet repeats the same few thousand strings on every agent. */
const cache = new Map<string, Readonly<ImageReference>>();
const CACHE_LIMIT = 100_000;

/** Parses and normalises an image reference (`ubuntu` → `docker.io/library/ubuntu:latest`). */
export function parseImageReference(input: string): ImageReference {
  const cached = cache.get(input);
  if (cached) return cached;
  const parsed = Object.freeze(parseUncached(input));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(input, parsed);
  return parsed;
}

function parseUncached(input: string): ImageReference {
  if (typeof input !== "string" || input === "") {
    throw new ImageReferenceError(String(input ?? ""), "reference", "reference is empty");
  }
  // Like Docker, only a whole reference of 64 hex reads as an image ID; `docker.io/<hex>` or `<hex>:tag` is a name.
  if (HEX64_RE.test(input)) {
    throw new ImageReferenceError(
      input,
      "repository",
      "a 64-hex string is an image ID, not a repository name",
    );
  }
  if (/\s/.test(input)) throw new ImageReferenceError(input, "reference", "reference contains white space");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw new ImageReferenceError(input, "reference", "a URL is not an image reference; drop the scheme");
  }
  const at = input.indexOf("@");
  if (at !== -1 && input.indexOf("@", at + 1) !== -1) {
    throw new ImageReferenceError(input, "digest", 'more than one "@"');
  }
  const nameAndTag = at === -1 ? input : input.slice(0, at);
  const digest = at === -1 ? undefined : input.slice(at + 1);
  if (digest !== undefined) validateDigest(input, digest);

  const lastSlash = nameAndTag.lastIndexOf("/");
  const colon = nameAndTag.indexOf(":", lastSlash + 1);
  const name = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
  const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1);
  if (tag !== undefined && !TAG_RE.test(tag)) {
    throw new ImageReferenceError(
      input,
      "tag",
      `tag "${tag}" must be 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
  if (name === "") throw new ImageReferenceError(input, "repository", "repository name is empty");

  const split = splitDomain(name);
  if (split.explicit && !DOMAIN_RE.test(split.domain)) {
    throw new ImageReferenceError(input, "registry", `"${split.domain}" is not a valid registry host[:port]`);
  }
  validatePath(input, split.path);
  const repository =
    split.domain === DOCKER_HUB && !split.path.includes("/") ? `library/${split.path}` : split.path;
  const base = `${split.domain}/${repository}`;
  if (base.length > NAME_MAX) {
    throw new ImageReferenceError(
      input,
      "repository",
      `normalised name "${base.slice(0, 40)}…" is ${base.length} characters; the limit is ${NAME_MAX}`,
    );
  }
  const canonical = `${base}${tag === undefined && digest === undefined ? ":latest" : tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
  return {
    registry: split.domain,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    canonical,
  };
}

/** The reference without digest, with `:latest` when untagged: what `docker pull` resolves and a tag check asks. */
export function tagReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}:${ref.tag ?? "latest"}`;
}

/** Docker's familiar form of a reference (`ubuntu:22.04` for Docker Hub's library, the full name anywhere else). */
export function familiarReference(ref: ImageReference, suffix: "tag" | "digest"): string {
  const name =
    ref.registry === DOCKER_HUB
      ? ref.repository.replace(/^library\//, "")
      : `${ref.registry}/${ref.repository}`;
  return suffix === "tag" ? `${name}:${ref.tag ?? "latest"}` : `${name}@${ref.digest}`;
}
