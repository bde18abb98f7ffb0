import { describe, expect, it } from "vitest";
import { parseTokenResponse } from "./registry-auth.js";
import { apiBaseUrl } from "./registry-client.js";

describe("parseTokenResponse", () => {
  it.each([
    ['{"token":"t1","expires_in":300}', { token: "t1", expiresIn: 300 }],
    ['{"access_token":"a1"}', { token: "a1", expiresIn: 60 }],
    ['{"token":"t1","access_token":"a1","expires_in":0}', { token: "t1", expiresIn: 60 }],
    ['{"token":"","access_token":"a1"}', { token: "a1", expiresIn: 60 }],
    ['{"expires_in":300}', undefined],
    ['{"token":42}', undefined],
    ["not json", undefined],
  ])("%s", (body, expected) => {
    expect(parseTokenResponse(body)).toEqual(expected);
  });
});

describe("apiBaseUrl", () => {
  it.each([
    ["docker.io", false, "https://registry-1.docker.io"],
    ["index.docker.io", false, "https://registry-1.docker.io"],
    ["registry.example.com:5000", false, "https://registry.example.com:5000"],
    ["127.0.0.1:5000", true, "http://127.0.0.1:5000"],
    ["ghcr.io", false, "https://ghcr.io"],
  ])("%s insecure=%s → %s", (host, insecure, expected) => {
    expect(apiBaseUrl(host, insecure)).toBe(expected);
  });
});
