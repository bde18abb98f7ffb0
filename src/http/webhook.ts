import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Request headers as node:http gives them: lower-case names. */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

export type WebhookSource = "github" | "gitlab";

export type WebhookVerification =
  | {
      ok: true;
      source: WebhookSource;
      /** GitHub's X-GitHub-Event (`push`, `ping`) or GitLab's X-Gitlab-Event (`Push Hook`). */
      event?: string;
      /** True for a branch or tag push; a ping or any other event is authentic but not a push. */
      push: boolean;
      /** The pushed branch, from the payload's `ref` (`refs/heads/main` → `main`). */
      branch?: string;
      /** The commit the ref now points at (`after`), for logs. */
      revision?: string;
    }
  | { ok: false; reason: string };

const GITHUB_SIGNATURE = "x-hub-signature-256";
const GITLAB_TOKEN = "x-gitlab-token";
const PUSH_EVENTS = new Set(["push", "Push Hook", "Tag Push Hook"]);

function header(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Compares digests of both sides, so neither the content nor the length of the secret leaks in timing. */
function tokenEquals(given: string, expected: string): boolean {
  const hash = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(hash(given), hash(expected));
}

function githubSignatureValid(signature: string, body: Buffer, secret: string): boolean {
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!match) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(Buffer.from(match[1]!, "hex"), expected);
}

/** The push payload, from a JSON body or GitHub's form-encoded `payload=` variant; undefined otherwise. */
function parsePayload(headers: WebhookHeaders, body: Buffer): Record<string, unknown> | undefined {
  const contentType = header(headers, "content-type") ?? "";
  let text = body.toString("utf8");
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    text = new URLSearchParams(text).get("payload") ?? "";
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why a request with neither a signature nor a token is refused, naming the header its sender lacks. */
function unsignedReason(headers: WebhookHeaders): string {
  if (header(headers, "x-github-event") !== undefined)
    return `a GitHub event without an ${GITHUB_SIGNATURE} header: set the webhook's secret in GitHub`;
  if (header(headers, "x-gitlab-event") !== undefined)
    return `a GitLab event without an ${GITLAB_TOKEN} header: set the webhook's secret token in GitLab`;
  return `neither an ${GITHUB_SIGNATURE} nor an ${GITLAB_TOKEN} header`;
}

/** Authenticates a GitHub or GitLab webhook and extracts what a reconciler needs from a push. */
export function verifyWebhook(request: {
  headers: WebhookHeaders;
  body: Buffer;
  secret: string;
}): WebhookVerification {
  const { headers, body, secret } = request;
  if (secret.length === 0) return { ok: false, reason: "no webhook secret is configured" };
  const signature = header(headers, GITHUB_SIGNATURE);
  const token = header(headers, GITLAB_TOKEN);
  let source: WebhookSource;
  let event: string | undefined;
  if (signature !== undefined) {
    if (!githubSignatureValid(signature, body, secret)) {
      return { ok: false, reason: `${GITHUB_SIGNATURE} does not match the body signed with the secret` };
    }
    source = "github";
    event = header(headers, "x-github-event");
  } else if (token !== undefined) {
    if (!tokenEquals(token, secret))
      return { ok: false, reason: `${GITLAB_TOKEN} does not match the secret` };
    source = "gitlab";
    event = header(headers, "x-gitlab-event");
  } else {
    return { ok: false, reason: unsignedReason(headers) };
  }
  const payload = parsePayload(headers, body);
  const push = (event === undefined || PUSH_EVENTS.has(event)) && typeof payload?.ref === "string";
  if (!push) return { ok: true, source, ...(event !== undefined ? { event } : {}), push: false };
  const ref = payload.ref as string;
  const branch = ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : undefined;
  const revision = typeof payload.after === "string" ? payload.after : undefined;
  return {
    ok: true,
    source,
    ...(event !== undefined ? { event } : {}),
    push: true,
    ...(branch !== undefined ? { branch } : {}),
    ...(revision !== undefined ? { revision } : {}),
  };
}
