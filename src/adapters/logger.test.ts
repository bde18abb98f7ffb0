import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

/** One log line for `fields`, as the logger writes it. */
async function logged(fields: Record<string, unknown>): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  createLogger("info", { destination: out }).info(fields, "event");
  await new Promise((resolve) => setImmediate(resolve));
  return Buffer.concat(chunks).toString("utf8");
}

describe("createLogger", () => {
  it.each([
    [{ password: "S3CRET-1" }],
    [{ registry: { token: "S3CRET-1" } }],
    [{ apiKey: "S3CRET-1", apiKeySecret: "S3CRET-2" }],
    [{ kasm: { apiKey: "S3CRET-1", apiKeySecret: "S3CRET-2" } }],
    [{ body: { api_key: "S3CRET-1", api_key_secret: "S3CRET-2" } }],
    [{ record: { docker_token: "S3CRET-1" } }],
    [{ fields: { dockerToken: "S3CRET-1" } }],
  ])("blanks credentials in %j", async (fields) => {
    const line = await logged(fields);
    expect(line).toContain("[redacted]");
    expect(line).not.toMatch(/S3CRET/);
  });
});
