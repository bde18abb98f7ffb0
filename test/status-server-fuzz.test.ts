import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../src/http/metrics.js";
import { type StatusServer, startStatusServer } from "../src/http/server.js";

/** Sends raw bytes on a fresh loopback connection; resolves with whatever came back before the close. */
function raw(port: number, payload: Buffer | string, waitMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.end(payload);
  });
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

/** A seeded generator, so a failing case can be reproduced from the test name. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state;
  };
  return { int: (n: number) => next() % n, pick: <T>(items: readonly T[]) => items[next() % items.length]! };
}

const TARGETS = [
  "//[",
  "/[",
  "//[::1",
  "http://[",
  "//a:b@[",
  "/%",
  "/%zz",
  "//%00",
  "*",
  "/\u00ff",
  "//:99999",
];
const METHODS = ["GET", "POST", "HEAD", "PUT", "BREW", "G\u0000T", ""];
const PATHS = ["/healthz", "/status", "/hooks/git", "/metrics", "/readyz", "/nope"];

/** A malformed request line, header block or body, from one of a few families. */
function malformed(rng: ReturnType<typeof generator>): Buffer {
  const junk = () => randomBytes(1 + rng.int(64));
  switch (rng.int(6)) {
    case 0:
      return Buffer.from(`${rng.pick(METHODS)} ${rng.pick(TARGETS)} HTTP/1.1\r\nHost: x\r\n\r\n`, "latin1");
    case 1:
      return Buffer.concat([Buffer.from("GET "), junk(), Buffer.from(" HTTP/1.1\r\nHost: x\r\n\r\n")]);
    case 2:
      return Buffer.concat([
        Buffer.from(`GET ${rng.pick(PATHS)} HTTP/1.1\r\n`),
        junk(),
        Buffer.from("\r\nX-A: \u0000\r\n\r\n", "latin1"),
      ]);
    case 3:
      return Buffer.from(
        `POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: ${rng.pick(["-1", "abc", "99999999999999999999", "5, 7"])}\r\n\r\nhello`,
      );
    case 4:
      return Buffer.concat([
        Buffer.from("POST /hooks/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Buffer.from(rng.pick(["zz\r\n", "5\r\nab", "ffffffffffffffff\r\n", "1\r\nabc\r\n0\r\n\r\n"])),
      ]);
    default:
      return Buffer.concat([
        Buffer.from(`POST ${rng.pick(PATHS)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`),
        Buffer.from(`X-Hub-Signature-256: sha256=${randomBytes(8).toString("hex")}\r\n`),
        Buffer.from("Content-Length: 40\r\n\r\n"),
        junk(),
      ]);
  }
}

describe("status server under malformed requests (raw sockets, loopback)", () => {
  let server: StatusServer;
  const logged: Record<"debug" | "info" | "warn" | "error", string[]> = {
    debug: [],
    info: [],
    warn: [],
    error: [],
  };
  const errors = logged.error;
  const capture =
    (level: keyof typeof logged) =>
    (...args: unknown[]) =>
      logged[level].push(JSON.stringify(args));
  const logger = {
    debug: capture("debug"),
    info: capture("info"),
    warn: capture("warn"),
    error: capture("error"),
  };
  const clearLogs = () => {
    for (const lines of Object.values(logged)) lines.length = 0;
  };

  beforeAll(async () => {
    server = await startStatusServer({
      listen: "127.0.0.1:0",
      status: () => ({ ok: true }),
      ready: () => true,
      metrics: createMetrics(),
      webhook: { secret: "s", onPush: () => {} },
      logger,
    });
  });
  afterAll(() => server?.close().catch(() => {}));

  it.each(["//[", "//[::1]:x", "http://[", "//a@[:", "*"])(
    "answers 400 to the request target %s and keeps serving",
    async (target) => {
      const answer = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(statusOf(answer)).toBe(400);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    },
  );

  it("survives 300 malformed request lines, headers and bodies, then still answers /healthz", async () => {
    const rng = generator(18);
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 30; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => raw(server.port, malformed(rng), 1500)),
      );
      for (const answer of answers) statuses.set(statusOf(answer), (statuses.get(statusOf(answer)) ?? 0) + 1);
    }
    // A 5xx would mean a handler failed on input it should have refused.
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(errors).toEqual([]);
    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
  });

  it("logs 200 aborted uploads as debug lines and one warn summary, never as errors", async () => {
    await server.close();
    clearLogs();
    server = await startStatusServer({
      listen: "127.0.0.1:0",
      status: () => ({ ok: true }),
      ready: () => true,
      metrics: createMetrics(),
      webhook: { secret: "s", onPush: () => {} },
      logger,
    });
    const slowClient = () =>
      new Promise<void>((resolve) => {
        const socket = connect(server.port, "127.0.0.1", () => {
          socket.write("POST /hooks/git HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial");
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on("close", () => resolve());
        socket.on("error", () => resolve());
      });
    for (let batch = 0; batch < 4; batch++) await Promise.all(Array.from({ length: 50 }, slowClient));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(logged.error).toEqual([]);
    expect(logged.debug.filter((line) => line.includes("aborted")).length).toBe(200);
    expect(logged.warn).toHaveLength(1);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await server.close();
    expect(logged.warn.length).toBe(2);
    expect(logged.warn.join("\n")).toContain("199 request(s) aborted by clients, 0 malformed");
  });
});
