/** Host formats, one rule each for `validate` and for the adapters that connect: they can never disagree. */

/** Where an Agent's Docker Engine listens: a unix socket, or tcp with an explicit or default port. */
export type DockerEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "tcp"; hostname: string; port?: number };

/** Why a TCP port written as `digits` cannot be connected to, or undefined when it can. */
export function portProblem(digits: string): string | undefined {
  if (digits === "") return "has an empty port after the colon";
  if (!/^[0-9]+$/.test(digits)) return `has the port "${digits}", which is not a number`;
  const port = Number(digits);
  if (port < 1 || port > 65535) return `has the port ${digits}, outside 1–65535`;
  return undefined;
}

/** `unix:///path` or `tcp://host[:port]` (Docker's DOCKER_HOST forms), or why the text is neither. */
export function parseDockerHost(host: string): DockerEndpoint | { problem: string } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(host);
  if (!match) return { problem: "has no scheme" };
  const [, scheme = "", rest = ""] = match;
  if (scheme.toLowerCase() === "unix") {
    if (!rest.startsWith("/") || rest.length < 2) return { problem: "must give an absolute socket path" };
    if (/\s/.test(rest)) return { problem: "has white space in its socket path" };
    return { kind: "unix", path: rest };
  }
  if (scheme.toLowerCase() !== "tcp") return { problem: `has the unsupported scheme "${scheme}"` };
  const address = /^(\[[^\]]*\]|[^:/?#@[\]]*)(?::([^/?#@]*))?\/?$/.exec(rest);
  if (!address) return { problem: "must be tcp://host:port only (no user, path, query or fragment)" };
  const [, name = "", port] = address;
  if (name === "") return { problem: "has no host name" };
  let hostname: string;
  try {
    hostname = new URL(`http://${name}`).hostname;
  } catch {
    return { problem: `has the host "${name}", which is not a valid host name or IP address` };
  }
  if (port !== undefined) {
    const problem = portProblem(port);
    if (problem) return { problem };
  }
  return {
    kind: "tcp",
    hostname: hostname.replace(/^\[(.*)\]$/, "$1"),
    ...(port !== undefined ? { port: Number(port) } : {}),
  };
}

/** The usage line every Docker host problem ends with. */
export const dockerHostHint = "use unix:///path/to/docker.sock or tcp://host:port";

/** Why a registry host's `:port` cannot be connected to, or undefined (the name itself is checked elsewhere). */
export function registryPortProblem(host: string): string | undefined {
  const port = /:([^:\]]*)$/.exec(host)?.[1];
  return port === undefined ? undefined : portProblem(port);
}
