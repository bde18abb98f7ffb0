/** Turns an Agent's `docker.host` into dockerode connection options, refusing what Docker would not accept. */
import type { DockerOptions } from "dockerode";
import { KasmGitopsError } from "../core/errors.js";

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
    new KasmGitopsError(
      "usage",
      `Docker host "${host}" ${why}; use unix:///path/to/docker.sock or tcp://host:port`,
      {
        host,
      },
    );
  const match = /^([a-z]+):\/\/(.*)$/i.exec(host);
  if (!match) throw bad("has no scheme");
  const [, scheme, rest = ""] = match;
  if (scheme?.toLowerCase() === "unix") {
    if (!rest.startsWith("/")) throw bad("must give an absolute socket path");
    if (tls && (tls.ca || tls.cert || tls.key)) throw bad("is a unix socket, which takes no TLS settings");
    return { ...NO_ENV_DEFAULTS, socketPath: rest };
  }
  if (scheme?.toLowerCase() !== "tcp") throw bad(`has the unsupported scheme "${scheme}"`);
  let url: URL;
  try {
    url = new URL(`http://${rest}`);
  } catch {
    throw bad("is not a valid address");
  }
  if (!url.hostname || (url.pathname !== "/" && url.pathname !== "") || url.username) {
    throw bad("must be tcp://host:port only");
  }
  const secure = Boolean(tls && (tls.ca || tls.cert || tls.key));
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) throw bad("needs both a TLS cert and key, or neither");
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    ...NO_ENV_DEFAULTS,
    host: hostname,
    port: url.port ? Number(url.port) : secure ? 2376 : 2375,
    protocol: secure ? "https" : "http",
    ...(secure ? { ca: tls?.ca, cert: tls?.cert, key: tls?.key } : {}),
  };
}
