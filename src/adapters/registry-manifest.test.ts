import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { digestOf, embeddedMediaType, isDigest, mediaTypeOf } from "./registry-manifest.js";

const body = Buffer.from('{"schemaVersion":2}');
const hex = (algorithm: string) => createHash(algorithm).update(body).digest("hex");

describe("isDigest", () => {
  it.each([
    [`sha256:${"a".repeat(64)}`, true],
    [`sha512:${"b".repeat(128)}`, true],
    [`sha256:${"A".repeat(64)}`, false],
    [`sha256:${"a".repeat(63)}`, false],
    ["md5:d41d8cd98f00b204e9800998ecf8427e", false],
    ["", false],
  ])("%s → %s", (value, expected) => {
    expect(isDigest(value)).toBe(expected);
  });
});

describe("digestOf", () => {
  it.each([
    [undefined, `sha256:${hex("sha256")}`],
    ["sha256", `sha256:${hex("sha256")}`],
    ["sha512", `sha512:${hex("sha512")}`],
    ["md5", `sha256:${hex("sha256")}`],
  ])("%s", (algorithm, expected) => {
    expect(digestOf(body, algorithm)).toBe(expected);
  });
});

describe("mediaTypeOf and embeddedMediaType", () => {
  it.each([
    ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.index.v1+json"],
    [
      "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8",
      "application/vnd.docker.distribution.manifest.v2+json",
    ],
    [null, ""],
  ])("content-type %s → %s", (header, expected) => {
    expect(mediaTypeOf(new Headers(header === null ? {} : { "content-type": header }))).toBe(expected);
  });

  it.each([
    [
      '{"mediaType":"application/vnd.oci.image.manifest.v1+json"}',
      "application/vnd.oci.image.manifest.v1+json",
    ],
    ['{"schemaVersion":2}', ""],
    ["not json", ""],
  ])("body %s → %s", (text, expected) => {
    expect(embeddedMediaType(Buffer.from(text))).toBe(expected);
  });
});
