import { describe, expect, it } from "vitest";
import { pullReference, routeOf } from "./sim-engine.js";
import { chainIds, layerId, pickPlatform, progressBar } from "./sim-pull.js";
import { decodeRegistryAuth, registryBaseUrl } from "./sim-registry.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe("the simulated engine's pure parts", () => {
  it.each([
    ["GET", "/_ping", "GET /_ping", undefined],
    ["GET", "/v1.41/images/json", "GET /images/json", undefined],
    ["GET", "/images/127.0.0.1:5000/app:v1/json", "GET /images/{name}/json", "127.0.0.1:5000/app:v1"],
    ["DELETE", "/images/127.0.0.1%3A5000%2Fapp%3Av1", "DELETE /images/{name}", "127.0.0.1:5000/app:v1"],
    ["POST", "/images/create", "POST /images/create", undefined],
  ])("%s %s is the route %s", (method, path, route, name) => {
    expect(routeOf(method, path)).toEqual(name === undefined ? { route } : { route, name });
  });

  it.each([
    ["127.0.0.1:5000/app", "v1", "127.0.0.1:5000/app:v1"],
    ["127.0.0.1:5000/app", d("a"), `127.0.0.1:5000/app@${d("a")}`],
    ["127.0.0.1:5000/app:v2", null, "127.0.0.1:5000/app:v2"],
  ])("fromImage %s with tag %s pulls %s", (from, tag, expected) => {
    expect(pullReference(from, tag)).toBe(expected);
  });

  it.each([
    [Buffer.from('{"username":"u","password":"p"}').toString("base64"), { username: "u", password: "p" }],
    [Buffer.from('{"username":"u?>"}').toString("base64url"), { username: "u?>" }],
    ["not base64 json", undefined],
    [undefined, undefined],
  ])("X-Registry-Auth %s decodes to %j", (header, expected) => {
    expect(decodeRegistryAuth(header)).toEqual(expected);
  });

  it.each([
    ["127.0.0.1:5000", "http://127.0.0.1:5000"],
    ["localhost:5000", "http://localhost:5000"],
    ["registry.example.com", "https://registry.example.com"],
    ["docker.io", "https://registry-1.docker.io"],
  ])("registry %s is reached at %s", (host, url) => {
    expect(registryBaseUrl(host)).toBe(url);
  });

  it("computes Docker's chain ids: the first diff id, then sha256 of parent and child", () => {
    expect(chainIds([d("a")])).toEqual([d("a")]);
    // sha256("sha256:aaa… sha256:bbb…"), as `docker image inspect` shows for a two-layer image.
    const two = chainIds([d("a"), d("b")]);
    expect(two[0]).toBe(d("a"));
    expect(two[1]).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(two[1]).not.toBe(d("b"));
  });

  it.each([
    [0, 100, `[>${" ".repeat(49)}] 0B/100B`],
    [50, 100, `[${"=".repeat(25)}>${" ".repeat(24)}] 50B/100B`],
    [2_500_000, 2_500_000, `[${"=".repeat(50)}] 2.5MB/2.5MB`],
  ])("progress bar at %d of %d", (current, total, text) => {
    expect(progressBar(current, total)).toBe(text);
  });

  it("picks linux/amd64 from an index, and names layers by 12 hex digits", () => {
    const index = {
      manifests: [
        { digest: d("1"), size: 1, platform: { os: "linux", architecture: "arm64" } },
        { digest: d("2"), size: 1, platform: { os: "linux", architecture: "amd64" } },
      ],
    };
    expect(pickPlatform(index)?.digest).toBe(d("2"));
    expect(pickPlatform({ manifests: [] })).toBeUndefined();
    expect(layerId(d("c"))).toBe("cccccccccccc");
  });
});
