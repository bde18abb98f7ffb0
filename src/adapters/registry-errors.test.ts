import { describe, expect, it } from "vitest";
import { hasCode, isTransient } from "../core/errors.js";
import { errorForNetwork, errorForResponse, registryErrorDetail } from "./registry-errors.js";

const context = { host: "reg.example:5000", repository: "kasm/chrome", reference: "20261127" };
const now = Date.parse("2026-11-27T12:00:00Z");

describe("errorForResponse", () => {
  it.each([
    [
      401,
      {},
      false,
      "pull",
      "registry-unauthorized",
      /no credentials were sent; add spec\.auth to the Registry for reg\.example:5000/,
    ],
    [401, {}, true, "pull", "registry-unauthorized", /credentials were sent and rejected/],
    [403, {}, true, "push", "registry-forbidden", /may not push to kasm\/chrome/],
    [403, {}, true, "pull", "registry-forbidden", /may not pull from kasm\/chrome/],
    [404, {}, false, "pull", "registry-not-found", /tag "20261127" not found in repository kasm\/chrome/],
    [
      429,
      { "retry-after": "7" },
      false,
      "pull",
      "registry-rate-limited",
      /rate limited \(HTTP 429\); retry after 7 s/,
    ],
    [429, {}, false, "pull", "registry-rate-limited", /rate limited \(HTTP 429\)$/],
    [500, {}, false, "pull", "registry-unavailable", /unavailable \(HTTP 500\)/],
    [503, {}, false, "pull", "registry-unavailable", /unavailable \(HTTP 503\)/],
    [400, {}, false, "push", "registry-error", /unexpected HTTP 400/],
  ] as const)("%i (credentials %s, %s) → %s", (status, headers, credentialsSent, access, code, message) => {
    const error = errorForResponse(context, {
      status,
      headers: new Headers(headers),
      credentialsSent,
      access,
      now,
    });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.context).toMatchObject({ ...context, status });
  });

  it.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after": "Fri, 27 Nov 2026 12:01:00 GMT" }, 60_000],
    [{}, undefined],
  ])("429 with %j keeps retryAfterMs %j", (headers, retryAfterMs) => {
    const error = errorForResponse(context, {
      status: 429,
      headers: new Headers(headers),
      credentialsSent: false,
      access: "pull",
      now,
    });
    expect(error.code).toBe("registry-rate-limited");
    expect(hasCode(error, "registry-rate-limited") && error.context.retryAfterMs).toBe(retryAfterMs);
  });

  it.each([
    [
      true,
      /unauthorized \(HTTP 401\): the token service granted no pull access to kasm\/chrome \(insufficient_scope\): the repository does not exist, or the account of the Registry for reg\.example:5000 may not pull from it$/,
    ],
    [false, /\(insufficient_scope\): the repository does not exist, or it needs spec\.auth on the Registry/],
  ])("401 insufficient_scope, credentials sent %s: says the token lacks the repository", (sent, message) => {
    const error = errorForResponse(context, {
      status: 401,
      headers: new Headers(),
      credentialsSent: sent,
      access: "pull",
      challengeError: "insufficient_scope",
    });
    expect(error.code).toBe("registry-unauthorized");
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ ...context, registryName: "corp" }, /the Registry "corp" \(reg\.example:5000\)/],
    [{ ...context, reference: `sha256:${"a".repeat(64)}` }, /reg\.example:5000\/kasm\/chrome@sha256:a{64}/],
  ])("names the Registry and the reference (%#)", (ctx, message) => {
    const error = errorForResponse(ctx, {
      status: 401,
      headers: new Headers(),
      credentialsSent: false,
      access: "pull",
    });
    expect(error.message).toMatch(message);
  });
});

describe("errorForNetwork", () => {
  it.each([
    [
      new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }),
      undefined,
      /cannot reach reg\.example:5000: fetch failed: ECONNREFUSED/,
    ],
    [new DOMException("aborted", "TimeoutError"), 1500, /no answer within 1500 ms/],
  ])("%s", (cause, timeoutMs, message) => {
    const error = errorForNetwork(context, cause, timeoutMs);
    expect(error.code).toBe("registry-unavailable");
    expect(error.message).toMatch(message);
    expect(error.cause).toBe(cause);
    expect(isTransient(error)).toBe(true);
  });
});

describe("registryErrorDetail", () => {
  it.each([
    [
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
      "MANIFEST_UNKNOWN: manifest unknown",
    ],
    ['{"errors":[{"code":"DENIED"}]}', "DENIED"],
    ['{"errors":[]}', undefined],
    ["<html>bad gateway</html>", undefined],
    ["", undefined],
  ])("%s", (body, expected) => {
    expect(registryErrorDetail(body)).toBe(expected);
  });
});
