import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ImageReferenceError, parseImageReference, tagReference } from "./reference.js";

type Case = {
  input: string;
  valid: boolean;
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
  canonical?: string;
  /** Why the case is there, when the input alone does not say. */
  note?: string;
};

/** The project's table, which includes the names Docker's own reference tests accept and refuse. */
const table = JSON.parse(
  readFileSync(new URL("./fixtures/image-references.json", import.meta.url), "utf8"),
) as { cases: Case[] };

const D64 = "a".repeat(64);
const sha = `sha256:${"0123456789abcdef".repeat(4)}`;

/** Cases implied by Docker's reference grammar beyond the table, built where a literal would be long. */
const extra: Case[] = [
  {
    input: "localhost/foo",
    valid: true,
    registry: "localhost",
    repository: "foo",
    canonical: "localhost/foo:latest",
  },
  {
    input: "localhost:5000/a/b:t",
    valid: true,
    registry: "localhost:5000",
    repository: "a/b",
    tag: "t",
    canonical: "localhost:5000/a/b:t",
  },
  {
    input: "[::1]:5000/kasm/chrome:1",
    valid: true,
    registry: "[::1]:5000",
    repository: "kasm/chrome",
    tag: "1",
    canonical: "[::1]:5000/kasm/chrome:1",
  },
  {
    input: "[2001:db8::1]/foo",
    valid: true,
    registry: "[2001:db8::1]",
    repository: "foo",
    canonical: "[2001:db8::1]/foo:latest",
  },
  { input: "[::1/foo", valid: false },
  {
    input: "Example.COM/foo",
    valid: true,
    registry: "Example.COM",
    repository: "foo",
    canonical: "Example.COM/foo:latest",
  },
  { input: "Foo/bar", valid: true, registry: "Foo", repository: "bar", canonical: "Foo/bar:latest" },
  {
    input: "index.docker.io/ubuntu",
    valid: true,
    registry: "docker.io",
    repository: "library/ubuntu",
    canonical: "docker.io/library/ubuntu:latest",
  },
  { input: "-bad.com/foo", valid: false },
  { input: "bad-.com/foo", valid: false },
  { input: "example.com:port/foo", valid: false },
  { input: D64, valid: false },
  {
    input: `${D64}:tag`,
    valid: true,
    registry: "docker.io",
    repository: `library/${D64}`,
    tag: "tag",
    canonical: `docker.io/library/${D64}:tag`,
  },
  {
    input: `foo/${D64}`,
    valid: true,
    registry: "docker.io",
    repository: `foo/${D64}`,
    canonical: `docker.io/foo/${D64}:latest`,
  },
  // The 255-character limit applies to the normalised name, "docker.io/library/" included.
  {
    input: "a".repeat(237),
    valid: true,
    registry: "docker.io",
    repository: `library/${"a".repeat(237)}`,
    canonical: `docker.io/library/${"a".repeat(237)}:latest`,
  },
  { input: "a".repeat(238), valid: false },
  {
    input: `foo:${"t".repeat(128)}`,
    valid: true,
    registry: "docker.io",
    repository: "library/foo",
    tag: "t".repeat(128),
    canonical: `docker.io/library/foo:${"t".repeat(128)}`,
  },
  { input: `foo:${"t".repeat(129)}`, valid: false },
  {
    input: "foo:_under",
    valid: true,
    registry: "docker.io",
    repository: "library/foo",
    tag: "_under",
    canonical: "docker.io/library/foo:_under",
  },
  { input: "foo:.dot", valid: false },
  {
    input: "foo:Upper.Case-1",
    valid: true,
    registry: "docker.io",
    repository: "library/foo",
    tag: "Upper.Case-1",
    canonical: "docker.io/library/foo:Upper.Case-1",
  },
  { input: "foo:", valid: false },
  { input: "foo:a:b", valid: false },
  {
    input: `foo@${sha}`,
    valid: true,
    registry: "docker.io",
    repository: "library/foo",
    digest: sha,
    canonical: `docker.io/library/foo@${sha}`,
  },
  { input: `foo@${sha.toUpperCase().replace("SHA256", "sha256")}`, valid: false },
  {
    input: `foo@sha512:${"ab".repeat(64)}`,
    valid: true,
    registry: "docker.io",
    repository: "library/foo",
    digest: `sha512:${"ab".repeat(64)}`,
    canonical: `docker.io/library/foo@sha512:${"ab".repeat(64)}`,
  },
  { input: `foo@md5:${"ab".repeat(16)}`, valid: false },
  { input: `foo@sha256:${"a".repeat(63)}`, valid: false },
  { input: `foo@${sha}@${sha}`, valid: false },
  { input: "foo@", valid: false },
  {
    input: "a__b/c",
    valid: true,
    registry: "docker.io",
    repository: "a__b/c",
    canonical: "docker.io/a__b/c:latest",
  },
  { input: "a___b/c", valid: false },
  {
    input: "a--b/c",
    valid: true,
    registry: "docker.io",
    repository: "a--b/c",
    canonical: "docker.io/a--b/c:latest",
  },
  { input: "a._b", valid: false },
  { input: "foo.", valid: false },
  { input: "foo bar", valid: false },
  { input: "127.0.0.1:5000/", valid: false },
];

const valid = [...table.cases, ...extra].filter((c) => c.valid);
const invalid = [...table.cases, ...extra].filter((c) => !c.valid);

describe("parseImageReference", () => {
  it("reads the project's table", () => {
    expect(table.cases.length).toBeGreaterThan(100);
  });

  it.each(valid)("normalises $input", (c) => {
    const ref = parseImageReference(c.input);
    expect(ref).toEqual({
      registry: c.registry,
      repository: c.repository,
      ...(c.tag === undefined ? {} : { tag: c.tag }),
      ...(c.digest === undefined ? {} : { digest: c.digest }),
      canonical: c.canonical,
    });
    expect(parseImageReference(ref.canonical)).toEqual({
      ...ref,
      tag: ref.tag ?? (ref.digest ? undefined : "latest"),
    });
  });

  it.each(invalid)("rejects $input", (c) => {
    expect(() => parseImageReference(c.input)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(c.input)).toThrow(/invalid image reference/);
  });

  it.each([
    ["docker/Docker", "repository", /must be lower-case/],
    ["ubuntu:-foo", "tag", /tag "-foo"/],
    ["ubuntu@sha256:abc", "digest", /digest "sha256:abc"/],
    ["https://github.com/docker/docker", "reference", /URL/],
    ["", "reference", /empty/],
    ["docker///docker", "repository", /empty path component/],
    ["-bad.com/foo", "registry", /-bad\.com/],
  ] as const)("names the bad part of %s", (input, part, message) => {
    try {
      parseImageReference(input);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ImageReferenceError);
      expect((error as ImageReferenceError).part).toBe(part);
      expect((error as Error).message).toMatch(message);
    }
  });

  it.each([
    ["ubuntu", "docker.io/library/ubuntu:latest"],
    [`ubuntu:22.04@${sha}`, "docker.io/library/ubuntu:22.04"],
    [`ubuntu@${sha}`, "docker.io/library/ubuntu:latest"],
  ])("tagReference(%s) = %s", (input, expected) => {
    expect(tagReference(parseImageReference(input))).toBe(expected);
  });
});
