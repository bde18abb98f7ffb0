import { describe, expect, it } from "vitest";
import { KASM_FACTS } from "../../test/helpers/kasm-facts.js";
import { isTransient, KasmGitopsError } from "../core/errors.js";
import { classifyKasmAnswer, kasmNetworkError, kasmSkippedError, scrubSecrets } from "./kasm-errors.js";

const ctx = { url: "https://kasm.example.com", fn: "update_image", server: "kasm" };
const json = (body: unknown) => ({ contentType: "application/json", text: JSON.stringify(body) });
const HTML = { contentType: "text/html; charset=utf-8", text: KASM_FACTS.unhandled.body };

describe("an HTML 500 to a write names the keys it sent", () => {
  it("lists the target_image keys, never their values", () => {
    const outcome = classifyKasmAnswer(
      { ...ctx, sentKeys: ["image_id", "name", "imageAttributes"] },
      { status: KASM_FACTS.unhandled.status, ...HTML },
    );
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: KasmGitopsError }).error;
    expect(error.message).toContain("the request's target_image carried image_id, name, imageAttributes");
    expect(error.context).toMatchObject({ sentKeys: ["image_id", "name", "imageAttributes"] });
  });

  it("a call skipped after a timeout says why and is not transient", () => {
    const timedOut = kasmNetworkError({ ...ctx, fn: "get_images" }, new Error("aborted"), 30_000);
    expect(isTransient(timedOut)).toBe(true);
    const skipped = kasmSkippedError({ ...ctx, fn: "get_groups" }, timedOut);
    expect(skipped.message).toBe(
      "Kasm https://kasm.example.com get_groups: not asked, since get_images: cannot reach Kasm: no answer within 30000 ms",
    );
    expect(isTransient(skipped)).toBe(false);
  });
});

describe("classifyKasmAnswer", () => {
  it.each([
    [200, json({ images: [] }), undefined, /./],
    [200, json({ error_message: null, image: {} }), undefined, /./],
    [
      200,
      json({ error_message: "cores must be greater than 0" }),
      "kasm-refused",
      /update_image was refused: cores must be greater than 0$/,
    ],
    [200, HTML, "kasm-error", /not JSON \(text\/html\): check that spec\.url of KasmServer "kasm"/],
    [200, json(["a"]), "kasm-error", /not JSON/],
    [
      401,
      json({ error_message: "key expired" }),
      "kasm-unauthorized",
      /HTTP 401\): the API key has expired or lacks a permission \(Kasm says: key expired\); in Kasm's admin UI/,
    ],
    [
      401,
      { contentType: "", text: "" },
      "kasm-unauthorized",
      /expired or lacks a permission; in Kasm's admin UI/,
    ],
    [
      403,
      json({ error_message: "Access denied" }),
      "kasm-forbidden",
      /HTTP 403\): the API key or secret is wrong; check that spec\.apiKey and spec\.apiKeySecret of KasmServer "kasm"/,
    ],
    [
      404,
      { contentType: "text/html", text: "<html>Not Found</html>" },
      "kasm-error",
      /no API function update_image; check that spec\.url/,
    ],
    [
      500,
      HTML,
      "kasm-rejected-request",
      /update_image: Kasm failed with an unhandled error \(HTTP 500, an error page: text\/html\): its log says why\. Kasm 1\.15 answers so for a key its write function does not take/,
    ],
    [
      500,
      json({ error_message: "db down" }),
      "kasm-rejected-request",
      /Kasm failed on the request \(HTTP 500\) \(Kasm says: db down\)/,
    ],
    [502, HTML, "kasm-unavailable", /Kasm is unavailable \(HTTP 502\)/],
    [503, HTML, "kasm-unavailable", /HTTP 503/],
    [504, HTML, "kasm-unavailable", /HTTP 504/],
    [418, json({}), "kasm-error", /unexpected HTTP 418/],
  ] as const)("%i %j → %s", (status, answer, code, message) => {
    const outcome = classifyKasmAnswer(ctx, { status, ...answer });
    if (code === undefined) {
      expect(outcome.ok).toBe(true);
      return;
    }
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: KasmGitopsError }).error;
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).toContain("https://kasm.example.com update_image");
    expect(error.context).toMatchObject({ fn: "update_image", status, url: ctx.url });
    expect(isTransient(error)).toBe(code === "kasm-unavailable");
  });

  it("keeps a long Kasm message to one short line", () => {
    const outcome = classifyKasmAnswer(ctx, {
      status: 200,
      ...json({ error_message: `a\n${"x".repeat(1000)}` }),
    });
    const error = (outcome as { error: KasmGitopsError }).error;
    expect(error.message).not.toContain("\n");
    expect(error.message.length).toBeLessThan(400);
  });
});

describe("kasmNetworkError", () => {
  it.each([
    [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      undefined,
      /cannot reach Kasm: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    ],
    [
      Object.assign(new Error("getaddrinfo failed"), { code: "ENOTFOUND" }),
      undefined,
      /getaddrinfo failed \(ENOTFOUND\)$/,
    ],
    [
      new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      30_000,
      /no answer within 30000 ms$/,
    ],
  ])("%s → transient kasm-unavailable", (cause, timeoutMs, message) => {
    const error = kasmNetworkError(ctx, cause, timeoutMs);
    expect(error).toMatchObject({ code: "kasm-unavailable", context: { transient: true, status: 0 } });
    expect(error.message).toMatch(message);
    expect(error.cause).toBe(cause);
  });

  it("says how to trust a private CA instead of retrying", () => {
    const cause = Object.assign(new Error("self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    const error = kasmNetworkError(ctx, cause);
    expect(error.code).toBe("kasm-error");
    expect(error.context).not.toHaveProperty("transient");
    expect(isTransient(error)).toBe(false);
    expect(error.message).toMatch(/certificate is not trusted .*: set spec\.tls\.ca of KasmServer "kasm"/);
  });
});

describe("scrubSecrets", () => {
  it("blanks the secrets in the message, stack, context and causes", () => {
    const cause = new Error("echo api_key=KEY-1234");
    const error = new KasmGitopsError(
      "kasm-refused",
      "refused: SECRET-5678",
      { fn: "update_image", kasmMessage: "KEY-1234" },
      { cause },
    );
    scrubSecrets(error, ["KEY-1234", "SECRET-5678"]);
    const text = `${error.message} ${error.stack} ${JSON.stringify(error.context)} ${cause.message} ${cause.stack}`;
    expect(text).not.toMatch(/KEY-1234|SECRET-5678/);
    expect(error.message).toBe("refused: [redacted]");
  });

  it("leaves an error without secrets, read-only messages included, as it was", () => {
    const cause = new DOMException("timeout", "TimeoutError");
    const error = new KasmGitopsError("kasm-unavailable", "no answer", { fn: "get_images" }, { cause });
    expect(scrubSecrets(error, ["KEY-1234"])).toBe(error);
    expect(cause.message).toBe("timeout");
  });
});
