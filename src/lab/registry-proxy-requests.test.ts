import { describe, expect, it } from "vitest";
import { classify, type InjectRule, matches, schemeOf } from "./registry-proxy-requests.js";

describe("classify", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  it.each([
    ["GET", "/v2/", "ping", undefined],
    ["GET", "/token", "token", undefined],
    ["GET", "/v2/_catalog", "catalog", undefined],
    ["HEAD", "/v2/kasm/chrome/manifests/latest", "manifest-head", "kasm/chrome"],
    ["GET", `/v2/kasm/chrome/manifests/${digest}`, "manifest-get", "kasm/chrome"],
    ["PUT", "/v2/a/b/c/manifests/v1", "manifest-put", "a/b/c"],
    ["DELETE", `/v2/x/manifests/${digest}`, "manifest-delete", "x"],
    ["GET", `/v2/kasm/chrome/blobs/${digest}`, "blob-get", "kasm/chrome"],
    ["HEAD", `/v2/kasm/chrome/blobs/${digest}`, "blob-head", "kasm/chrome"],
    ["POST", "/v2/kasm/chrome/blobs/uploads/", "blob-upload", "kasm/chrome"],
    ["PUT", "/v2/kasm/chrome/blobs/uploads/0b7c-uuid", "blob-upload", "kasm/chrome"],
    ["GET", "/v2/kasm/chrome/tags/list", "tags", "kasm/chrome"],
    ["GET", "/favicon.ico", "other", undefined],
  ])("%s %s → %s", (method, path, kind, repository) => {
    const facts = classify(method, path);
    expect(facts.kind).toBe(kind);
    expect(facts.repository).toBe(repository);
  });
});

describe("matches", () => {
  const head = classify("HEAD", "/v2/kasm/chrome/manifests/latest");
  it.each<[string, InjectRule["match"], boolean]>([
    ["empty object matches all", {}, true],
    ["method", { method: "HEAD" }, true],
    ["other method", { method: "GET" }, false],
    ["kind", { kind: "manifest-head" }, true],
    ["other kind", { kind: "blob-get" }, false],
    ["path substring", { pathPattern: "kasm/chrome" }, true],
    ["path regexp", { pathPattern: /\/manifests\/latest$/ }, true],
    ["path regexp miss", { pathPattern: /\/blobs\// }, false],
    ["all must hold", { method: "HEAD", kind: "manifest-get" }, false],
    ["function", (req) => req.repository === "kasm/chrome", true],
  ])("%s", (_, match, expected) => {
    expect(matches({ match, status: 503, times: 1 }, head)).toBe(expected);
  });
});

describe("schemeOf", () => {
  it.each([
    [undefined, "none"],
    ["Basic abc", "basic"],
    ["Bearer t", "bearer"],
    ["bearer t", "bearer"],
    ["Negotiate x", "other"],
  ])("%s → %s", (header, expected) => {
    expect(schemeOf(header)).toBe(expected);
  });
});
