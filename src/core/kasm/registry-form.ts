/**
 * Kasm's docker_registry field, read as the Registry it names. Kasm stores the registry in whatever form the
 * administrator typed (`https://index.docker.io/v1/` for Docker Hub, `https://host`, `http://host`, `host`),
 * so equality is by host, and a write keeps Kasm's own form rather than "fixing" it.
 */
import { isLoopbackHost } from "./rules.js";

/** Hosts Docker Hub goes by in Kasm's docker_registry field. */
const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** A docker_registry value as an image-reference host (`https://index.docker.io/v1/` → docker.io). */
export function registryHost(written: string): { host: string; insecure: boolean } {
  const trimmed = written.trim();
  const scheme = /^([a-z]+):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  const rest = scheme ? trimmed.slice(scheme.length + 3) : trimmed;
  const hostPort = (rest.split("/")[0] ?? "").toLowerCase();
  const host = DOCKER_HUB_ALIASES.has(hostPort) ? "docker.io" : hostPort;
  const hostname = host.replace(/:\d+$/, "");
  return { host, insecure: scheme === "http" || isLoopbackHost(hostname) };
}

/** Whether Kasm's docker_registry value (any of its forms) names the registry at `host`. */
export function namesRegistry(written: string | null, host: string): boolean {
  if (written === null || written.trim() === "") return false;
  return registryHost(written).host === registryHost(host).host;
}
