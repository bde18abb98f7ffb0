import { describe, expect, it } from "vitest";
import { checkManifestFiles } from "../core/manifest/validate.js";
import { dockerConnection } from "./docker-host.js";

const agentYaml = (host: string, tls = "") =>
  `apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: a}\nspec:\n  docker: {host: "${host}"${tls}}\n`;
const registryYaml = (host: string) =>
  `apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: r}\nspec: {host: "${host}", insecure: true}\n`;
const validateErrors = (text: string) =>
  checkManifestFiles([{ file: "a.yaml", text }])
    .problems.filter((p) => p.severity === "error")
    .map((p) => p.message);

/** One rule for validate and plan: a host validate accepts connects, one it refuses fails the same way. */
describe("Agent docker.host: validate and the Docker adapter agree", () => {
  it.each([
    ["tcp://127.0.0.1:2375", { host: "127.0.0.1", port: 2375 }],
    ["tcp://127.0.0.1:2375/", { host: "127.0.0.1", port: 2375 }],
    ["tcp://127.0.0.1", { host: "127.0.0.1", port: 2375 }],
    ["tcp://[::1]:2376", { host: "::1", port: 2376 }],
    ["tcp://agent-1.example.com:65535", { host: "agent-1.example.com", port: 65535 }],
    ["unix:///var/run/docker.sock", { socketPath: "/var/run/docker.sock" }],
  ])("%s is accepted by both", (host, options) => {
    expect(validateErrors(agentYaml(host))).toEqual([]);
    expect(dockerConnection(host)).toMatchObject(options);
  });

  it.each([
    ["tcp://127.0.0.1:99999", /port 99999, outside 1–65535/],
    ["tcp://127.0.0.1:0", /port 0, outside 1–65535/],
    ["tcp://127.0.0.1:", /empty port/],
    ["tcp://127.0.0.1:-1", /"-1", which is not a number/],
    ["tcp://agent:12ab", /"12ab", which is not a number/],
    ["tcp://:2375", /no host name/],
    ["tcp://999.1.1.1:2375", /"999\.1\.1\.1", which is not a valid host/],
    ["tcp://user@agent:2375", /tcp:\/\/host:port only/],
    ["tcp://agent:2375?tls=1", /tcp:\/\/host:port only/],
    ["tcp://agent:2375/v1.43", /tcp:\/\/host:port only|is not valid: expected unix/],
    ["http://127.0.0.1:2375", /unsupported scheme "http"|is not valid: expected unix/],
    ["127.0.0.1:2375", /no scheme|is not valid: expected unix/],
    ["unix://relative.sock", /absolute socket path|is not valid: expected unix/],
  ])("%s is refused by both", (host, why) => {
    const errors = validateErrors(agentYaml(host));
    expect(errors.length, errors.join("\n")).toBeGreaterThan(0);
    expect(errors.join("\n")).toMatch(why);
    expect(() => dockerConnection(host)).toThrow(/Docker host/);
  });

  it("TLS on a unix socket is refused by both", () => {
    const errors = validateErrors(
      agentYaml("unix:///run/docker.sock", ", tls: {ca: {file: /run/secrets/ca.pem}}"),
    );
    expect(errors.join("\n")).toMatch(/unix socket, which takes no TLS settings/);
    expect(() => dockerConnection("unix:///run/docker.sock", { ca: "pem" })).toThrow(/takes no TLS settings/);
  });
});

describe("Registry host ports: validate refuses what no connection could use", () => {
  it.each([
    ["localhost:99999", /port 99999, outside 1–65535/],
    ["registry.example.com:0", /port 0, outside 1–65535/],
    ["registry.example.com:", /not a registry host/],
    ["localhost:5000", undefined],
    ["[::1]:5000", undefined],
    ["registry.example.com:65535", undefined],
    ["registry.example.com", undefined],
  ])("%s", (host, why) => {
    const errors = validateErrors(registryYaml(host));
    if (why === undefined) {
      expect(errors).toEqual([]);
      expect(() => new URL(`http://${host}/v2/`)).not.toThrow();
    } else expect(errors.join("\n")).toMatch(why);
  });
});
