/**
 * What a simulated Docker Engine holds: pulled images (id = config digest, tags, repo digests, size) and
 * the containers a test says use them, with Docker's own answers for lookups, listings and removals, so a
 * benchmark's later observations of a simulated agent read like a real engine's. No I/O here.
 */
import { familiarReference, type ImageReference, parseImageReference } from "../core/image/reference.js";

export type SimImage = {
  /** `sha256:` + the config blob's digest hex, as Docker reports image ids. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Bytes: the sum of the layers' sizes. */
  size: number;
  /** Layer chain ids, bottom first: what removing the image's last reference deletes. */
  layers: string[];
  /** The layers' compressed blob digests: a blob some image holds is not downloaded again. */
  blobs: string[];
  labels: Record<string, string>;
  /** Seconds since the epoch, from the config's `created` (Docker's zero time when absent). */
  created: number;
};
export type SimContainer = { id: string; imageId: string; state: "running" | "exited" };

/** An image that finished pulling: what the engine records for it. */
export type PulledImage = Omit<SimImage, "repoTags" | "repoDigests"> & {
  /** The reference pulled, parsed; its tag (if any) moves to this image. */
  ref: ImageReference;
  /** The digest the registry answered for the reference (an index's digest for multi-platform images). */
  manifestDigest: string;
};

/** An Engine API answer: a status and a JSON body. */
export type SimAnswer = { status: number; body: unknown };

/** Go's zero time in seconds: Docker's `Created` for a config without one. */
export const ZERO_TIME = -62135596800;

/** Docker's familiar form: `ubuntu:22.04` for Docker Hub's library, the full name anywhere else. */
export const familiar = familiarReference;

const shortId = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
const noSuchImage = (name: string): SimAnswer => ({
  status: 404,
  body: { message: `No such image: ${name}` },
});
const conflict = (message: string): SimAnswer => ({ status: 409, body: { message: `conflict: ${message}` } });

function parseName(name: string): ImageReference | undefined {
  try {
    return parseImageReference(name);
  } catch {
    return undefined;
  }
}

export class SimImageStore {
  private readonly images = new Map<string, SimImage>();
  readonly containers: SimContainer[] = [];

  /** Finds an image by full or short id, by tag (`:latest` when none) or by `repo@digest`, as Docker does. */
  find(name: string): SimImage | undefined {
    const hex = name.replace(/^sha256:/, "");
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      const byId = [...this.images.values()].filter((i) => i.id.slice(7).startsWith(hex));
      if (byId.length === 1) return byId[0];
    }
    const ref = parseName(name);
    if (!ref) return undefined;
    if (ref.digest) return this.all().find((i) => i.repoDigests.includes(familiar(ref, "digest")));
    const tag = familiar(ref, "tag");
    return this.all().find((i) => i.repoTags.includes(tag));
  }

  /** The images, newest first, as `GET /images/json` orders them. */
  all(): SimImage[] {
    return [...this.images.values()].sort((a, b) => b.created - a.created);
  }

  /** True when an image of this repository already carries the digest: the pull is up to date. */
  hasDigest(ref: ImageReference, digest: string): boolean {
    const entry = familiar({ ...ref, digest }, "digest");
    return this.all().some((i) => i.repoDigests.includes(entry));
  }

  /** True when some image holds this layer (chain id). */
  hasLayer(chainId: string): boolean {
    return this.all().some((i) => i.layers.includes(chainId));
  }

  /** True when some image holds this layer blob: dockerd answers "Already exists" instead of downloading it. */
  hasBlob(digest: string): boolean {
    return this.all().some((i) => i.blobs.includes(digest));
  }

  /** Records a pull: the tag moves here from any older image, which keeps its repo digest (now `<none>`). */
  add(pulled: PulledImage): SimImage {
    const { ref, manifestDigest, ...fields } = pulled;
    const image = this.images.get(fields.id) ?? { ...fields, repoTags: [], repoDigests: [] };
    this.images.set(image.id, image);
    const digestEntry = familiar({ ...ref, digest: manifestDigest }, "digest");
    if (!image.repoDigests.includes(digestEntry)) image.repoDigests.push(digestEntry);
    if (!ref.digest) {
      const tag = familiar(ref, "tag");
      for (const other of this.images.values()) {
        if (other !== image) other.repoTags = other.repoTags.filter((t) => t !== tag);
      }
      if (!image.repoTags.includes(tag)) image.repoTags.push(tag);
    }
    return image;
  }

  /**
   * `DELETE /images/{name}` without force: a tag or digest reference is untagged, and the image deleted with
   * its last reference; Docker's 409 when a container uses it or an id names an image with several repositories.
   */
  remove(name: string): SimAnswer {
    const image = this.find(name);
    if (!image) return noSuchImage(name);
    const users = this.containers.filter((c) => c.imageId === image.id);
    const byId = image.id.slice(7).startsWith(name.replace(/^sha256:/, ""));
    const references = [...image.repoTags, ...image.repoDigests];
    if (byId) {
      const repositories = new Set(references.map((r) => parseName(r)?.repository));
      if (repositories.size > 1)
        return conflict(
          `unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`,
        );
      const user = users[0];
      if (user) {
        const how = user.state === "running" ? "cannot be forced" : "must be forced";
        return conflict(
          `unable to delete ${shortId(image.id)} (${how}) - image is being used by ${user.state === "running" ? "running" : "stopped"} container ${shortId(user.id)}`,
        );
      }
      return { status: 200, body: this.delete(image, references) };
    }
    const ref = parseName(name)!;
    const entry = ref.digest ? familiar(ref, "digest") : familiar(ref, "tag");
    const user = users[0];
    if (references.length === 1 || (ref.digest === undefined && image.repoTags.length === 1)) {
      if (user)
        return conflict(
          `unable to remove repository reference "${name}" (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(image.id)}`,
        );
    }
    if (ref.digest === undefined && image.repoTags.length > 1) {
      image.repoTags = image.repoTags.filter((t) => t !== entry);
      return { status: 200, body: [{ Untagged: entry }] };
    }
    if (ref.digest !== undefined && references.length > 1) {
      image.repoDigests = image.repoDigests.filter((d) => d !== entry);
      return { status: 200, body: [{ Untagged: entry }] };
    }
    // The last tag: Docker untags it with the repo digests of the same repository, then deletes the image.
    return { status: 200, body: this.delete(image, references) };
  }

  /** `DELETE /images/{name}?force=1`: the image goes with every reference, containers or not (lab clean-up). */
  forceRemove(name: string): SimAnswer {
    const image = this.find(name);
    if (!image) return noSuchImage(name);
    return { status: 200, body: this.delete(image, [...image.repoTags, ...image.repoDigests]) };
  }

  private delete(image: SimImage, references: string[]): unknown[] {
    this.images.delete(image.id);
    const layers = image.layers.filter((layer) => !this.hasLayer(layer)).reverse();
    return [
      ...references.map((r) => ({ Untagged: r })),
      { Deleted: image.id },
      ...layers.map((l) => ({ Deleted: l })),
    ];
  }

  /** `GET /images/json`: Docker 20.10's summary of each image. */
  summaries(): unknown[] {
    return this.all().map((image) => ({
      Containers: -1,
      Created: image.created,
      Id: image.id,
      Labels: image.labels,
      ParentId: "",
      RepoDigests: image.repoDigests,
      RepoTags: image.repoTags.length > 0 ? image.repoTags : null,
      SharedSize: -1,
      Size: image.size,
      VirtualSize: image.size,
    }));
  }

  /** `GET /images/{name}/json`: the fields the reconciler and `docker inspect` users read. */
  inspect(name: string): SimAnswer {
    const image = this.find(name);
    if (!image) return { status: 404, body: { message: `no such image: ${name}: No such image: ${name}` } };
    return {
      status: 200,
      body: {
        Id: image.id,
        RepoTags: image.repoTags,
        RepoDigests: image.repoDigests,
        Parent: "",
        Created: new Date(image.created * 1000).toISOString(),
        Size: image.size,
        VirtualSize: image.size,
        Config: { Labels: image.labels },
        Architecture: "amd64",
        Os: "linux",
        RootFS: { Type: "layers", Layers: image.layers },
      },
    };
  }

  /** `GET /system/df?type=image`: the layers' bytes and each image with the containers using it. */
  diskUsage(): unknown {
    const images = this.summaries().map((s) => {
      const summary = s as { Id: string };
      const users = this.containers.filter((c) => c.imageId === summary.Id).length;
      return { ...summary, Containers: users, SharedSize: 0 };
    });
    return {
      LayersSize: this.all().reduce((sum, i) => sum + i.size, 0),
      Images: images,
      Containers: [],
      Volumes: [],
      BuildCache: null,
      BuilderSize: 0,
    };
  }

  /** `GET /containers/json?all=1`: the containers a test put on this engine. */
  containerList(all: boolean): unknown[] {
    return this.containers
      .filter((c) => all || c.state === "running")
      .map((c) => {
        const image = this.images.get(c.imageId);
        return {
          Id: c.id,
          Names: [`/sim-${c.id.slice(0, 8)}`],
          Image: image?.repoTags[0] ?? c.imageId,
          ImageID: c.imageId,
          Command: "",
          Created: 0,
          State: c.state,
          Status: c.state === "running" ? "Up" : "Exited (0)",
          Ports: [],
          Labels: {},
        };
      });
  }
}
