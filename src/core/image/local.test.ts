import { describe, expect, it } from "vitest";
import { indexLocalImages, type LocalImage, toLocalImage } from "./local.js";
import { parseImageReference } from "./reference.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

const images: LocalImage[] = [
  { id: "hub", repoTags: ["ubuntu:22.04", "ubuntu:latest"], repoDigests: [`ubuntu@${D1}`] },
  {
    id: "moved",
    repoTags: ["reg.example:5000/kasm/chrome:latest"],
    repoDigests: [
      `reg.example:5000/kasm/chrome@${D1}`,
      `reg.example:5000/kasm/chrome@${D2}`,
      `other.example/x@${D3}`,
    ],
  },
  { id: "org", repoTags: ["kasmweb/chrome:1.16"], repoDigests: [`docker.io/kasmweb/chrome@${D3}`] },
  { id: "untagged", repoTags: [], repoDigests: [`reg.example:5000/kasm/old@${D3}`] },
];

describe("toLocalImage", () => {
  it.each([
    [
      { Id: "a", RepoTags: ["<none>:<none>"], RepoDigests: ["<none>@<none>"] },
      { id: "a", repoTags: [], repoDigests: [] },
    ],
    [
      { Id: "b", RepoTags: null, RepoDigests: undefined },
      { id: "b", repoTags: [], repoDigests: [] },
    ],
    [
      { Id: "c", RepoTags: ["x:1", "<none>:<none>"], RepoDigests: [`x@${D1}`] },
      { id: "c", repoTags: ["x:1"], repoDigests: [`x@${D1}`] },
    ],
  ])("%j", (summary, local) => {
    expect(toLocalImage(summary)).toEqual(local);
  });
});

describe("digestsFor", () => {
  it.each([
    ["docker.io/library/ubuntu:22.04", [D1]],
    ["ubuntu", [D1]],
    ["docker.io/library/ubuntu:20.04", []],
    ["reg.example:5000/kasm/chrome:latest", [D1, D2]],
    ["reg.example:5000/kasm/chrome", [D1, D2]],
    ["reg.example:5000/kasm/chrome:1.0", []],
    ["kasmweb/chrome:1.16", [D3]],
    [`reg.example:5000/kasm/old@${D3}`, [D3]],
    [`reg.example:5000/kasm/old:whatever@${D3}`, [D3]],
    [`reg.example:5000/kasm/old@${D2}`, []],
    [`other.example/x@${D3}`, [D3]],
    [`reg.example:5000/kasm/chrome@${D3}`, []],
    ["reg.example:5001/kasm/chrome:latest", []],
  ])("%s → %j", (reference, digests) => {
    expect(indexLocalImages(images).digestsFor(parseImageReference(reference))).toEqual(digests);
  });

  it.each([
    ["ubuntu:latest", "hub"],
    ["docker.io/kasmweb/chrome:1.16", "org"],
    ["reg.example:5000/kasm/old:latest", undefined],
  ])("taggedImage(%s) is %s", (reference, id) => {
    expect(indexLocalImages(images).taggedImage(parseImageReference(reference))?.id).toBe(id);
  });
});
