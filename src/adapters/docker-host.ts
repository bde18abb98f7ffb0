/** Turns an Agent's `docker.host` into dockerode connection options, refusing what Docker would not accept. */
import type { DockerOptions } from "dockerode";
import { KasmGitopsError } from "../core/errors.js";
import { dockerHostHint, parseDockerHost } from "../core/manifest/host-format.js";

/** PEM strings for a `tcp://` engine with TLS. */
export type DockerTls = { ca?: string; cert?: string; key?: string };

/** Every connection field set explicitly, so DOCKER_HOST, DOCKER_CERT_PATH or DOCKER_CLIENT_TIMEOUT in our own
 * environment never redirect or alter a connection the manifest describes. */
const NO_ENV_DEFAULTS: DockerOptions = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: "http",
  ca: undefined,
  cert: undefined,
  key: undefined,
  timeout: undefined,
};

/** `unix:///path` → socket; `tcp://host[:port]` → HTTP, or HTTPS when TLS material is given (port 2376/2375 by default). */
export function dockerConnection(host: string, tls?: DockerTls): DockerOptions {
  const bad = (why: string) =>
    new KasmGitopsError("usage", `Docker host "${host}" ${why}; ${dockerHostHint}`, { host });
  const endpoint = parseDockerHost(host);
  if ("problem" in endpoint) throw bad(endpoint.problem);
  const secure = Boolean(tls && (tls.ca || tls.cert || tls.key));
  if (endpoint.kind === "unix") {
    if (secure) throw bad("is a unix socket, which takes no TLS settings");
    return { ...NO_ENV_DEFAULTS, socketPath: endpoint.path };
  }
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) throw bad("needs both a TLS cert and key, or neither");
  return {
    ...NO_ENV_DEFAULTS,
    host: endpoint.hostname,
    port: endpoint.port ?? (secure ? 2376 : 2375),
    protocol: secure ? "https" : "http",
    ...(secure ? { ca: tls?.ca, cert: tls?.cert, key: tls?.key } : {}),
  };
}
