import { describe, expect, it } from "vitest";
import { parseScope, scopeBatches, scopesCover, TokenCache, tokenExpiry } from "./registry-tokens.js";

describe("parseScope", () => {
  it.each([
    ["repository:kasm/chrome:pull", { resource: "repository:kasm/chrome", actions: ["pull"] }],
    ["repository:a/b/c:pull,push", { resource: "repository:a/b/c", actions: ["pull", "push"] }],
    ["repository(plugin):p:pull", { resource: "repository(plugin):p", actions: ["pull"] }],
    ["registry:catalog:*", { resource: "registry:catalog", actions: ["*"] }],
    ["repository:kasm/chrome", undefined],
    ["repository:kasm/chrome:", undefined],
    ["pull", undefined],
    ["", undefined],
  ])("%s", (scope, expected) => {
    expect(parseScope(scope)).toEqual(expected);
  });
});

describe("scopesCover", () => {
  it.each<[string, string[], string, boolean]>([
    ["same scope", ["repository:a:pull"], "repository:a:pull", true],
    ["one of several", ["repository:a:pull", "repository:b:pull"], "repository:b:pull", true],
    ["push token serves a pull", ["repository:a:pull,push"], "repository:a:pull", true],
    ["pull token does not serve a push", ["repository:a:pull"], "repository:a:pull,push", false],
    [
      "actions from two scopes add up",
      ["repository:a:pull", "repository:a:push"],
      "repository:a:pull,push",
      true,
    ],
    ["wildcard", ["repository:a:*"], "repository:a:pull,push", true],
    ["other repository", ["repository:a:pull"], "repository:ab:pull", false],
    ["prefix is not the repository", ["repository:a/b:pull"], "repository:a:pull", false],
    ["nothing granted", [], "repository:a:pull", false],
    ["malformed need", ["repository:a:pull"], "repository:a", false],
  ])("%s", (_, granted, needed, expected) => {
    expect(scopesCover(granted, needed)).toBe(expected);
  });
});

describe("scopeBatches", () => {
  it.each<[string, string[], number, string[][]]>([
    ["none", [], 40, []],
    ["one batch", ["a", "b", "c"], 40, [["a", "b", "c"]]],
    ["repeats dropped, order kept", ["b", "a", "b"], 40, [["b", "a"]]],
    ["cut at the size", ["a", "b", "c", "d", "e"], 2, [["a", "b"], ["c", "d"], ["e"]]],
  ])("%s", (_, scopes, size, expected) => {
    expect(scopeBatches(scopes, size)).toEqual(expected);
  });
});

describe("tokenExpiry", () => {
  it.each([
    ["300 s: renewed 10 s early", 1_000, 300, 1_000 + 290_000],
    ["60 s: a tenth early", 0, 60, 54_000],
    ["1 s", 0, 1, 900],
  ])("%s", (_, started, expiresIn, expected) => {
    expect(tokenExpiry(started, expiresIn)).toBe(expected);
  });
});

describe("TokenCache", () => {
  const a = "repository:a:pull";
  const b = "repository:b:pull";
  const c = "repository:c:pull";
  type Step =
    | { put: string[]; token: string; expiresAt: number }
    | { forget: string }
    | { narrow: string; scope: string };
  const apply = (cache: TokenCache, steps: Step[]) => {
    for (const step of steps) {
      if ("put" in step) cache.put(step.put, step.token, step.expiresAt);
      else if ("forget" in step) cache.forget(step.forget);
      else cache.narrow(step.narrow, step.scope);
    }
  };
  it.each<[string, Step[], string, number, string | undefined]>([
    ["empty", [], a, 0, undefined],
    ["multi-scope token serves each scope", [{ put: [a, b], token: "t1", expiresAt: 100 }], b, 99, "t1"],
    ["expired at its expiry", [{ put: [a, b], token: "t1", expiresAt: 100 }], a, 100, undefined],
    [
      "not for a scope it was not issued for",
      [{ put: [a, b], token: "t1", expiresAt: 100 }],
      c,
      0,
      undefined,
    ],
    [
      "a refused token is forgotten for every scope",
      [{ put: [a, b], token: "t1", expiresAt: 100 }, { forget: "t1" }],
      b,
      0,
      undefined,
    ],
    [
      "insufficient scope narrows the token, which keeps its other scopes",
      [
        { put: [a, b], token: "t1", expiresAt: 100 },
        { narrow: "t1", scope: b },
      ],
      a,
      0,
      "t1",
    ],
    [
      "insufficient scope: that scope is no longer covered",
      [
        { put: [a, b], token: "t1", expiresAt: 100 },
        { narrow: "t1", scope: b },
      ],
      b,
      0,
      undefined,
    ],
    [
      "a live token is found past an expired one",
      [
        { put: [a], token: "old", expiresAt: 10 },
        { put: [a], token: "new", expiresAt: 100 },
      ],
      a,
      50,
      "new",
    ],
  ])("%s", (_, steps, scope, now, expected) => {
    const cache = new TokenCache();
    apply(cache, steps);
    expect(cache.find(scope, now)).toBe(expected);
  });

  it.each<[string, string, string[]]>([
    ["a cached token: its scopes, to renew them together", "t1", ["repository:a:pull", "repository:b:pull"]],
    ["an unknown token: nothing", "t2", []],
  ])("forget: %s", (_, token, expected) => {
    const cache = new TokenCache();
    cache.put([a, b], "t1", 100);
    expect(cache.forget(token)).toEqual(expected);
  });

  it.each<[string, Step[], string[], number, string[]]>([
    ["nothing cached", [], [a, b, a], 0, [a, b]],
    ["covered ones left out", [{ put: [a], token: "t", expiresAt: 100 }], [a, b, c], 0, [b, c]],
    ["expired ones count as uncovered", [{ put: [a], token: "t", expiresAt: 100 }], [a, b], 100, [a, b]],
  ])("uncovered: %s", (_, steps, scopes, now, expected) => {
    const cache = new TokenCache();
    apply(cache, steps);
    expect(cache.uncovered(scopes, now)).toEqual(expected);
  });
});
