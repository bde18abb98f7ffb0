import { describe, expect, it } from "vitest";
import { parseListen } from "./listen.js";

describe("parseListen", () => {
  it.each([
    ["0.0.0.0:8080", { host: "0.0.0.0", port: 8080 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
    ["localhost:9090", { host: "localhost", port: 9090 }],
    [":8080", { host: "0.0.0.0", port: 8080 }],
    ["[::]:8080", { host: "::", port: 8080 }],
    ["[::1]:65535", { host: "::1", port: 65535 }],
    [" 10.0.0.5:80 ", { host: "10.0.0.5", port: 80 }],
  ])("%s", (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });

  it.each(["8080", "host", "host:", "host:port", "host:65536", "::1:8080", "[::1]", "a b:80", ""])(
    "rejects %j with a usage error that names it",
    (listen) => {
      expect(() => parseListen(listen)).toThrow(
        expect.objectContaining({ code: "usage", message: expect.stringContaining("is not HOST:PORT") }),
      );
    },
  );
});
