import { describe, expect, it } from "vitest";
import { dockerConnection } from "./docker-host.js";
import {
  classifyPullError,
  createLineParser,
  createProgressTracker,
  digestFromEvent,
  errorMessage,
  type PullEvent,
} from "./pull-stream.js";

describe("classifyPullError", () => {
  it.each([
    ["toomanyrequests: You have reached your pull rate limit", "rate-limited", true],
    ["received unexpected HTTP status: 429 Too Many Requests", "rate-limited", true],
    ['Head "http://r/v2/x/manifests/1": no basic auth credentials', "unauthorized", false],
    ["unauthorized: authentication required", "unauthorized", false],
    [
      "pull access denied for x, repository does not exist or may require 'docker login'",
      "unauthorized",
      false,
    ],
    ["manifest for r/x:nope not found: manifest unknown: manifest unknown", "not-found", false],
    ["received unexpected HTTP status: 503 Service Unavailable", "unavailable", true],
    ["Get https://r/v2/: net/http: TLS handshake timeout", "unavailable", true],
    ["read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer", "unavailable", true],
    ["aborted: shutting down", "aborted", false],
    ["failed to register layer: no space left on device", "error", false],
    [`digest sha256:500${"a".repeat(61)} mismatch at port :5000`, "error", false],
  ] as const)("%s → %s", (message, reason, transient) => {
    expect(classifyPullError(message)).toEqual({ reason, transient });
  });
});

describe("events", () => {
  it.each([
    [{ status: `Digest: sha256:${"ab".repeat(32)}` }, `sha256:${"ab".repeat(32)}`],
    [{ status: "Status: Image is up to date for r/x:1" }, undefined],
    [{ status: "Digest: not-a-digest" }, undefined],
    [{}, undefined],
  ])("digestFromEvent(%j) is %s", (event, digest) => {
    expect(digestFromEvent(event)).toBe(digest);
  });

  it.each([
    [{ error: "boom", errorDetail: { message: "detailed boom" } }, "detailed boom"],
    [{ error: "only error" }, "only error"],
    [{ errorDetail: {} }, "the engine reported an error without a message"],
    [{ status: "Pull complete", id: "a" }, undefined],
  ])("errorMessage(%j) is %s", (event, message) => {
    expect(errorMessage(event)).toBe(message);
  });
});

describe("createProgressTracker", () => {
  const layerEvents: [
    PullEvent,
    { layersDone: number; layersTotal: number; bytesDone: number; bytesTotal: number } | null,
  ][] = [
    [{ status: "Pulling from kasm/chrome", id: "1.0" }, null],
    [
      { status: "Pulling fs layer", id: "a", progressDetail: {} },
      { layersDone: 0, layersTotal: 1, bytesDone: 0, bytesTotal: 0 },
    ],
    [
      { status: "Already exists", id: "b", progressDetail: {} },
      { layersDone: 1, layersTotal: 2, bytesDone: 0, bytesTotal: 0 },
    ],
    [
      { status: "Downloading", id: "a", progressDetail: { current: 40, total: 100 } },
      { layersDone: 1, layersTotal: 2, bytesDone: 40, bytesTotal: 100 },
    ],
    [
      { status: "Download complete", id: "a" },
      { layersDone: 1, layersTotal: 2, bytesDone: 100, bytesTotal: 100 },
    ],
    [
      { status: "Extracting", id: "a", progressDetail: { current: 300, total: 300 } },
      { layersDone: 1, layersTotal: 2, bytesDone: 100, bytesTotal: 100 },
    ],
    [
      { status: "Pull complete", id: "a" },
      { layersDone: 2, layersTotal: 2, bytesDone: 100, bytesTotal: 100 },
    ],
    [{ status: `Digest: sha256:${"0".repeat(64)}` }, null],
  ];

  it("follows a pull's layer events in order", () => {
    const tracker = createProgressTracker();
    for (const [event, expected] of layerEvents) {
      expect(tracker.update(event)).toBe(expected !== null);
      if (expected) expect(tracker.snapshot()).toEqual(expected);
    }
  });
});

describe("createLineParser", () => {
  it.each([
    [
      ['{"status":"a"}\n{"sta', 'tus":"b"}\n'],
      [{ status: "a" }, { status: "b" }],
    ],
    [
      ['{"status":"a"}\r\n\r\n', '{"status":"c"}'],
      [{ status: "a" }, { status: "c" }],
    ],
    [["garbage\n"], [{ error: "unreadable line in the pull stream: garbage" }]],
  ])("%j", (chunks, events) => {
    const seen: PullEvent[] = [];
    const parser = createLineParser((event) => seen.push(event));
    for (const chunk of chunks) parser.push(chunk);
    parser.end();
    expect(seen).toEqual(events);
  });
});

describe("dockerConnection", () => {
  it.each([
    ["unix:///var/run/docker.sock", undefined, { socketPath: "/var/run/docker.sock", host: undefined }],
    [
      "tcp://10.0.0.5:2376",
      { ca: "CA", cert: "C", key: "K" },
      { host: "10.0.0.5", port: 2376, protocol: "https", ca: "CA" },
    ],
    [
      "tcp://docker.internal",
      undefined,
      { host: "docker.internal", port: 2375, protocol: "http", ca: undefined },
    ],
    ["tcp://[::1]:2375", undefined, { host: "::1", port: 2375, protocol: "http" }],
  ])("%s", (host, tls, expected) => {
    expect(dockerConnection(host, tls)).toMatchObject(expected);
  });

  it.each([
    ["/var/run/docker.sock", "has no scheme"],
    ["unix://relative.sock", "absolute socket path"],
    ["ssh://user@host", "unsupported scheme"],
    ["tcp://host:2376/path", "tcp://host:port only"],
    ["tcp://user:pw@host:2376", "tcp://host:port only"],
  ])("refuses %s", (host, message) => {
    expect(() => dockerConnection(host)).toThrow(message);
  });

  it("refuses a TLS cert without its key", () => {
    expect(() => dockerConnection("tcp://h:2376", { cert: "C" })).toThrow("both a TLS cert and key");
  });
});
