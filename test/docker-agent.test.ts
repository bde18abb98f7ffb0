import { randomBytes } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, inject, it } from "vitest";
import { createDockerAgent } from "../src/adapters/docker-agent.js";
import { indexLocalImages } from "../src/core/image/local.js";
import { parseImageReference } from "../src/core/image/reference.js";
import { pushRandomImage } from "../src/lab/push-image.js";
import type { PullProgress } from "../src/ports.js";
import { failure } from "./helpers/errors.js";

const lab = inject("lab");
const engine = lab.engines[0]!;
const agent = createDockerAgent({ name: "agent-1", host: engine.host });
const unique = (prefix: string) => `adapters/${prefix}-${randomBytes(4).toString("hex")}`;

describe("Docker agent", () => {
  it("pulls with progress, resolves the registry's digest and lists it among the repo digests", async () => {
    const pushed = await pushRandomImage({
      url: lab.registries.plain.url,
      repository: unique("list"),
      tag: "v1",
    });
    const progress: PullProgress[] = [];
    const result = await agent.pull(pushed.reference, { onProgress: (p) => progress.push(p) });
    expect(result.digest).toBe(pushed.digest);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ layersTotal: 1, layersDone: 1 });

    const images = await agent.listImages();
    const image = images.find((i) => i.repoTags.includes(pushed.reference));
    expect(image?.repoDigests).toContain(`${pushed.reference.replace(/:v1$/, "")}@${pushed.digest}`);
    expect(images.every((i) => !i.repoTags.some((t) => t.startsWith("<none>")))).toBe(true);
    expect(indexLocalImages(images).digestsFor(parseImageReference(pushed.reference))).toEqual([
      pushed.digest,
    ]);
  });

  it("follows a re-pushed tag to its new digest, multi-platform index included", async () => {
    const target = { url: lab.registries.plain.url, repository: unique("moved"), tag: "latest" };
    const first = await pushRandomImage(target, [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ]);
    expect((await agent.pull(first.reference, {})).digest).toBe(first.digest);
    const second = await pushRandomImage(target);
    expect(second.digest).not.toBe(first.digest);
    expect((await agent.pull(second.reference, {})).digest).toBe(second.digest);
    const digests = indexLocalImages(await agent.listImages()).digestsFor(
      parseImageReference(second.reference),
    );
    expect(digests).toContain(second.digest);
    expect(digests).not.toContain(first.digest);
  });

  it("pulls from the htpasswd registry only with credentials", async () => {
    const registry = lab.registries.auth;
    const pushed = await pushRandomImage({
      url: registry.url,
      repository: unique("auth"),
      tag: "v1",
      auth: registry.auth,
    });
    const anonymous = await failure(agent.pull(pushed.reference, {}));
    expect(anonymous.code).toBe("pull-failed");
    expect(anonymous.context).toMatchObject({ agent: "agent-1", reason: "unauthorized", transient: false });
    expect(anonymous.message).toContain("unauthorized");
    const wrong = await failure(
      agent.pull(pushed.reference, { auth: { username: "kasm-ci", password: "wrong-pw-77" } }),
      "pull-failed",
    );
    expect(wrong.context.reason).toBe("unauthorized");
    expect(`${wrong.message}${JSON.stringify(wrong.context)}`).not.toContain("wrong-pw-77");
    expect((await agent.pull(pushed.reference, { auth: registry.auth! })).digest).toBe(pushed.digest);
  });

  it("fails a missing tag with pull-failed (not-found)", async () => {
    const pushed = await pushRandomImage({
      url: lab.registries.plain.url,
      repository: unique("missing"),
      tag: "v1",
    });
    const error = await failure(agent.pull(pushed.reference.replace(/:v1$/, ":no-such-tag"), {}));
    expect(error.code).toBe("pull-failed");
    expect(error.context).toMatchObject({ reason: "not-found", transient: false });
    expect(error.message).toContain("no-such-tag");
  });

  it("pulls a digest-pinned reference and resolves with that digest", async () => {
    const pushed = await pushRandomImage({
      url: lab.registries.plain.url,
      repository: unique("pinned"),
      tag: "v1",
    });
    const pinned = `${pushed.reference.replace(/:v1$/, "")}@${pushed.digest}`;
    expect(await agent.pull(pinned, {})).toEqual({ digest: pushed.digest });
    expect(indexLocalImages(await agent.listImages()).digestsFor(parseImageReference(pinned))).toEqual([
      pushed.digest,
    ]);
  });

  it("rejects a pull aborted before it starts or in the middle of its stream", async () => {
    const pushed = await pushRandomImage({
      url: lab.registries.plain.url,
      repository: unique("abort"),
      tag: "v1",
    });
    const early = new AbortController();
    early.abort(new Error("shutting down"));
    const before = await failure(agent.pull(pushed.reference, { signal: early.signal }));
    expect(before.context).toMatchObject({ reason: "aborted", aborted: true });
    expect(before.message).toContain("shutting down");

    const midway = new AbortController();
    let events = 0;
    const during = await failure(
      agent.pull(pushed.reference, {
        signal: midway.signal,
        onProgress: () => {
          events++;
          midway.abort();
        },
      }),
      "pull-failed",
    );
    expect(during.code).toBe("pull-failed");
    expect(during.context.reason).toBe("aborted");
    expect(events).toBe(1);
  });

  it.each([
    ["a socket that does not exist", `unix://${lab.dir}/no-such-engine.sock`],
    ["a closed TCP port", "tcp://127.0.0.1:9"],
  ])("reports agent-unreachable for %s, naming agent and host", async (_, host) => {
    const down = createDockerAgent({ name: "agent-down", host, timeoutMs: 2_000 });
    for (const attempt of [down.listImages(), down.pull("127.0.0.1:1/x/y:1", {})]) {
      const error = await failure(attempt);
      expect(error.code).toBe("agent-unreachable");
      expect(error.message).toContain("agent-down");
      expect(error.message).toContain(host);
    }
  });

  describe("against a stand-in engine on TCP (behaviour the lab cannot provoke)", () => {
    /** An HTTP server speaking just enough of the Engine API: `_ping`, then `respond` for the pull. */
    async function standIn(respond: (res: ServerResponse) => void) {
      const server = createServer((req, res) => {
        if (req.url?.endsWith("/_ping")) return void res.end("OK");
        if (req.url?.includes("/images/create")) return respond(res);
        res.writeHead(404).end("{}");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return { host: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
    }

    it("fails a pull whose stream goes silent, as transient", async () => {
      const { host, server } = await standIn((res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write(`${JSON.stringify({ status: "Pulling fs layer", id: "a", progressDetail: {} })}\n`);
      });
      try {
        const stalled = createDockerAgent({ name: "stalled", host, pullIdleTimeoutMs: 300 });
        const error = await failure(stalled.pull("127.0.0.1:1/x/y:1", {}));
        expect(error.code).toBe("pull-failed");
        expect(error.context).toMatchObject({ agent: "stalled", transient: true });
        expect(error.message).toContain("timeout");
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    it("marks a 429 error event transient and keeps the engine's words", async () => {
      const { host, server } = await standIn((res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const message = "toomanyrequests: You have reached your pull rate limit";
        res.end(
          `${JSON.stringify({ status: "Pulling from x/y", id: "1" })}\n${JSON.stringify({ errorDetail: { message }, error: message })}\n`,
        );
      });
      try {
        const limited = createDockerAgent({ name: "limited", host });
        const error = await failure(limited.pull("127.0.0.1:1/x/y:1", {}));
        expect(error.context).toMatchObject({ reason: "rate-limited", transient: true });
        expect(error.message).toContain("toomanyrequests");
      } finally {
        server.close();
      }
    });
  });
});
