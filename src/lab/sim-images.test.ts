import { describe, expect, it } from "vitest";
import { parseImageReference } from "../core/image/reference.js";
import { familiar, type PulledImage, SimImageStore } from "./sim-images.js";

const hex = (c: string) => c.repeat(64);
const image = (reference: string, id: string, manifest: string): PulledImage => ({
  ref: parseImageReference(reference),
  manifestDigest: `sha256:${hex(manifest)}`,
  id: `sha256:${hex(id)}`,
  size: 100,
  layers: [`sha256:${hex(id === "a" ? "e" : "f")}`],
  blobs: [`sha256:${hex(id === "a" ? "c" : "d")}`],
  labels: {},
  created: 0,
});

/** Two images of one repository: `a` tagged v1 and v2, `b` tagged v3. */
function store() {
  const s = new SimImageStore();
  s.add(image("127.0.0.1:5000/app:v1", "a", "1"));
  s.add(image("127.0.0.1:5000/app:v2", "a", "1"));
  s.add(image("127.0.0.1:5000/app:v3", "b", "2"));
  return s;
}

describe("familiar names", () => {
  it.each([
    ["ubuntu:22.04", "tag", "ubuntu:22.04"],
    ["docker.io/library/ubuntu", "tag", "ubuntu:latest"],
    ["kasmweb/chrome:1.16", "tag", "kasmweb/chrome:1.16"],
    [`127.0.0.1:5000/app@sha256:${hex("1")}`, "digest", `127.0.0.1:5000/app@sha256:${hex("1")}`],
  ] as const)("%s (%s) → %s", (input, suffix, expected) => {
    expect(familiar(parseImageReference(input), suffix)).toBe(expected);
  });
});

describe("finding an image", () => {
  it.each([
    ["127.0.0.1:5000/app:v1", "a"],
    ["127.0.0.1:5000/app:v3", "b"],
    [`127.0.0.1:5000/app@sha256:${hex("2")}`, "b"],
    [`sha256:${hex("a")}`, "a"],
    ["aaaaaaaaaaaa", "a"],
    ["127.0.0.1:5000/app:v9", undefined],
    ["127.0.0.1:5000/app", undefined],
  ])("%s → %s", (name, id) => {
    const found = store().find(name);
    expect(found?.id).toBe(id === undefined ? undefined : `sha256:${hex(id)}`);
  });

  it("moves a tag to the image pulled last; the old one keeps its repo digest", () => {
    const s = store();
    s.add(image("127.0.0.1:5000/app:v1", "b", "2"));
    expect(s.find("127.0.0.1:5000/app:v1")?.id).toBe(`sha256:${hex("b")}`);
    expect(s.find("aaaaaaaaaaaa")?.repoTags).toEqual(["127.0.0.1:5000/app:v2"]);
    expect(s.find("aaaaaaaaaaaa")?.repoDigests).toEqual([`127.0.0.1:5000/app@sha256:${hex("1")}`]);
  });
});

describe("removing an image as dockerd does without force", () => {
  const digestA = `127.0.0.1:5000/app@sha256:${hex("1")}`;
  it.each([
    [
      "one of two tags: untagged only",
      "127.0.0.1:5000/app:v1",
      undefined,
      200,
      [{ Untagged: "127.0.0.1:5000/app:v1" }],
    ],
    [
      "the last tag: untagged with its repo digest, then the image and its layer deleted",
      "127.0.0.1:5000/app:v3",
      undefined,
      200,
      [
        { Untagged: "127.0.0.1:5000/app:v3" },
        { Untagged: `127.0.0.1:5000/app@sha256:${hex("2")}` },
        { Deleted: `sha256:${hex("b")}` },
        { Deleted: `sha256:${hex("f")}` },
      ],
    ],
    [
      "a missing image",
      "127.0.0.1:5000/app:v9",
      undefined,
      404,
      { message: "No such image: 127.0.0.1:5000/app:v9" },
    ],
    [
      "the last tag of an image a container uses",
      "127.0.0.1:5000/app:v3",
      "b",
      409,
      {
        message:
          'conflict: unable to remove repository reference "127.0.0.1:5000/app:v3" (must force) - container 999999999999 is using its referenced image bbbbbbbbbbbb',
      },
    ],
    [
      "by id, an image a running container uses",
      `sha256:${hex("b")}`,
      "b",
      409,
      {
        message:
          "conflict: unable to delete bbbbbbbbbbbb (cannot be forced) - image is being used by running container 999999999999",
      },
    ],
  ])("%s", (_, name, usedBy, status, body) => {
    const s = store();
    if (usedBy) s.containers.push({ id: hex("9"), imageId: `sha256:${hex(usedBy)}`, state: "running" });
    expect(s.remove(name)).toEqual({ status, body });
  });

  it("a digest reference of a tagged image is untagged alone", () => {
    const s = store();
    expect(s.remove(digestA)).toEqual({ status: 200, body: [{ Untagged: digestA }] });
    expect(s.find("127.0.0.1:5000/app:v1")?.repoDigests).toEqual([]);
  });
});

describe("listing", () => {
  it("reports disk usage as the sum of the images' sizes, and each image once", () => {
    const s = store();
    expect(s.summaries()).toHaveLength(2);
    expect((s.diskUsage() as { LayersSize: number }).LayersSize).toBe(200);
    expect(s.inspect("127.0.0.1:5000/app:v9").status).toBe(404);
  });
});
