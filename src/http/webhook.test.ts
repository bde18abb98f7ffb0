import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyWebhook, type WebhookHeaders } from "./webhook.js";

const SECRET = "s3cret-webhook";
const push = (ref: string) => JSON.stringify({ ref, after: "c".repeat(40), commits: [] });
const sign = (body: string, secret = SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
const github = (event: string, body: string, signature = sign(body)): [WebhookHeaders, string] => [
  { "x-github-event": event, "x-hub-signature-256": signature, "content-type": "application/json" },
  body,
];
const gitlab = (event: string, body: string, token = SECRET): [WebhookHeaders, string] => [
  { "x-gitlab-event": event, "x-gitlab-token": token, "content-type": "application/json" },
  body,
];
const form = (body: string): [WebhookHeaders, string] => {
  const encoded = `payload=${encodeURIComponent(body)}`;
  return [
    {
      "x-github-event": "push",
      "x-hub-signature-256": sign(encoded),
      "content-type": "application/x-www-form-urlencoded",
    },
    encoded,
  ];
};

describe("verifyWebhook", () => {
  it.each<[string, [WebhookHeaders, string], Record<string, unknown>]>([
    [
      "GitHub push, valid signature",
      github("push", push("refs/heads/main")),
      { ok: true, source: "github", event: "push", push: true, branch: "main", revision: "c".repeat(40) },
    ],
    [
      "GitHub push to a branch with a slash",
      github("push", push("refs/heads/release/2026")),
      { ok: true, push: true, branch: "release/2026" },
    ],
    [
      "GitHub tag push: a push, no branch",
      github("push", push("refs/tags/v1")),
      { ok: true, push: true, branch: undefined },
    ],
    [
      "GitHub ping: authentic, not a push",
      github("ping", '{"zen":"hi"}'),
      { ok: true, event: "ping", push: false },
    ],
    [
      "GitHub issue event with a ref-less body",
      github("issues", '{"action":"opened"}'),
      { ok: true, push: false },
    ],
    ["GitHub form-encoded push", form(push("refs/heads/main")), { ok: true, push: true, branch: "main" }],
    ["GitHub push with a non-JSON body", github("push", "not json"), { ok: true, push: false }],
    [
      "GitHub wrong signature",
      github("push", push("refs/heads/main"), sign(push("refs/heads/main"), "other")),
      { ok: false, reason: expect.stringContaining("does not match") },
    ],
    [
      "GitHub signature of another body",
      github("push", push("refs/heads/main"), sign(push("refs/heads/evil"))),
      { ok: false },
    ],
    ["GitHub signature of the wrong length", github("push", "{}", "sha256=abcd"), { ok: false }],
    ["GitHub sha1 signature format", github("push", "{}", `sha1=${"a".repeat(40)}`), { ok: false }],
    [
      "GitHub event without a signature",
      [{ "x-github-event": "push" }, push("refs/heads/main")],
      {
        ok: false,
        reason: "a GitHub event without an x-hub-signature-256 header: set the webhook's secret in GitHub",
      },
    ],
    [
      "GitLab event without a token",
      [{ "x-gitlab-event": "Push Hook" }, push("refs/heads/main")],
      {
        ok: false,
        reason: "a GitLab event without an x-gitlab-token header: set the webhook's secret token in GitLab",
      },
    ],
    [
      "no header at all",
      [{}, push("refs/heads/main")],
      { ok: false, reason: "neither an x-hub-signature-256 nor an x-gitlab-token header" },
    ],
    [
      "GitLab push, right token",
      gitlab("Push Hook", push("refs/heads/main")),
      { ok: true, source: "gitlab", event: "Push Hook", push: true, branch: "main" },
    ],
    [
      "GitLab wrong token",
      gitlab("Push Hook", push("refs/heads/main"), "guess"),
      { ok: false, reason: expect.stringContaining("x-gitlab-token") },
    ],
    [
      "GitLab token with a prefix of the secret",
      gitlab("Push Hook", "{}", SECRET.slice(0, 4)),
      { ok: false },
    ],
    [
      "GitLab merge request event",
      gitlab("Merge Request Hook", push("refs/heads/main")),
      { ok: true, push: false },
    ],
  ])("%s", (_, [headers, body], expected) => {
    const result = verifyWebhook({ headers, body: Buffer.from(body), secret: SECRET });
    const { branch, ...rest } = expected;
    expect(result).toMatchObject("branch" in expected && branch === undefined ? rest : expected);
    if ("branch" in expected && branch === undefined) expect(result).not.toHaveProperty("branch");
  });

  it("refuses everything when the secret is empty, even a matching empty signature", () => {
    const body = push("refs/heads/main");
    const result = verifyWebhook({
      headers: github("push", body, sign(body, ""))[0],
      body: Buffer.from(body),
      secret: "",
    });
    expect(result).toEqual({ ok: false, reason: "no webhook secret is configured" });
  });
});
