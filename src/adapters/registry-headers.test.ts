import { describe, expect, it } from "vitest";
import {
  type AuthChallenge,
  authChallenge,
  type Challenge,
  nextPageLink,
  parseChallenges,
  parseRateLimitValue,
  parseRetryAfter,
  repositoryScope,
} from "./registry-headers.js";

describe("parseChallenges", () => {
  it.each<[string, string | null, Challenge[]]>([
    ["absent", null, []],
    ["empty", "", []],
    ["basic", 'Basic realm="kasm-gitops-lab"', [{ scheme: "basic", params: { realm: "kasm-gitops-lab" } }]],
    [
      "docker hub bearer",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      [
        {
          scheme: "bearer",
          params: {
            realm: "https://auth.docker.io/token",
            service: "registry.docker.io",
            scope: "repository:library/ubuntu:pull",
          },
        },
      ],
    ],
    [
      "quoted value with commas (push scope)",
      'Bearer realm="http://h/token",scope="repository:a/b:pull,push",service="lab"',
      [
        {
          scheme: "bearer",
          params: { realm: "http://h/token", scope: "repository:a/b:pull,push", service: "lab" },
        },
      ],
    ],
    [
      "scheme case and spaces around = and commas",
      'bearer  Realm = "r" ,  Service=svc',
      [{ scheme: "bearer", params: { realm: "r", service: "svc" } }],
    ],
    [
      "escaped quote in a quoted value",
      'Basic realm="say \\"hi\\""',
      [{ scheme: "basic", params: { realm: 'say "hi"' } }],
    ],
    [
      "two challenges in one header",
      'Bearer realm="https://t/token",service="s", Basic realm="fallback"',
      [
        { scheme: "bearer", params: { realm: "https://t/token", service: "s" } },
        { scheme: "basic", params: { realm: "fallback" } },
      ],
    ],
    [
      "a token68 challenge before a Basic one",
      "Negotiate abc123==, Basic realm=x",
      [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "x" } },
      ],
    ],
    ["scheme without parameters", "Basic", [{ scheme: "basic", params: {} }]],
    [
      "unterminated quote keeps what was read",
      'Bearer realm="http://h/tok',
      [{ scheme: "bearer", params: { realm: "http://h/tok" } }],
    ],
  ])("%s", (_, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});

describe("authChallenge", () => {
  it.each<[string, string | null, AuthChallenge | undefined]>([
    ["absent", null, undefined],
    ["basic", 'Basic realm="lab"', { scheme: "basic" }],
    [
      "docker hub, first request",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      {
        scheme: "bearer",
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:library/ubuntu:pull",
      },
    ],
    [
      "docker hub, token without the repository",
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull",error="insufficient_scope"',
      {
        scheme: "bearer",
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:a/b:pull",
        error: "insufficient_scope",
      },
    ],
    [
      "expired token, ping (no scope)",
      'Bearer realm="http://h/token",error="invalid_token"',
      { scheme: "bearer", realm: "http://h/token", error: "invalid_token" },
    ],
    [
      "bearer without a realm falls back to basic",
      'Bearer service="s", Basic realm="x"',
      { scheme: "basic" },
    ],
    ["bearer without a realm alone", 'Bearer service="s"', undefined],
    [
      "bearer wins over basic",
      'Basic realm="x", Bearer realm="http://h/t"',
      { scheme: "bearer", realm: "http://h/t" },
    ],
    ["a scheme we do not speak", "Negotiate abc==", undefined],
  ])("%s", (_, header, expected) => {
    expect(authChallenge(header)).toEqual(expected);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-27T12:00:00Z");
  it.each<[string, string | null, number | undefined]>([
    ["absent", null, undefined],
    ["blank", "  ", undefined],
    ["seconds", "1", 1000],
    ["zero seconds", "0", 0],
    ["large seconds", "3600", 3_600_000],
    ["HTTP date in the future", "Fri, 27 Nov 2026 12:00:30 GMT", 30_000],
    ["HTTP date in the past clamps to 0", "Fri, 27 Nov 2026 11:59:00 GMT", 0],
    ["negative number", "-1", undefined],
    ["fraction", "1.5", undefined],
    ["garbage", "soon", undefined],
  ])("%s", (_, header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe("parseRateLimitValue", () => {
  it.each<[string | null, number | undefined]>([
    [null, undefined],
    ["", undefined],
    ["100", 100],
    ["100;w=21600", 100],
    [" 76 ; w=21600", 76],
    ["0;w=21600", 0],
    ["100, 50;w=60", 100],
    ["abc", undefined],
    ["-5", undefined],
  ])("%j → %j", (header, expected) => {
    expect(parseRateLimitValue(header)).toBe(expected);
  });
});

describe("repositoryScope", () => {
  it.each([
    ["kasm/chrome", "pull", "repository:kasm/chrome:pull"],
    ["kasm/chrome", "push", "repository:kasm/chrome:pull,push"],
  ] as const)("%s %s", (repository, access, expected) => {
    expect(repositoryScope(repository, access)).toBe(expected);
  });
});

describe("nextPageLink", () => {
  const base = "https://reg.example.com:5000";
  it.each([
    ['</v2/a/tags/list?n=2&last=b>; rel="next"', "/v2/a/tags/list?n=2&last=b"],
    ["</v2/a/tags/list?last=b&n=2>; rel=next", "/v2/a/tags/list?last=b&n=2"],
    [`<${base}/v2/a/tags/list?last=b>; rel="next"`, "/v2/a/tags/list?last=b"],
    ['</v2/a/tags/list?last=a>; rel="prev", </v2/a/tags/list?last=c>; rel="next"', "/v2/a/tags/list?last=c"],
    ['<https://elsewhere.example.com/v2/a/tags/list?last=b>; rel="next"', undefined],
    ['</v2/a/tags/list?last=a>; rel="prev"', undefined],
    ["", undefined],
    [null, undefined],
  ])("%j → %j", (header, expected) => {
    expect(nextPageLink(header, base)).toBe(expected);
  });
});
