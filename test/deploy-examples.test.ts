import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const DEPLOY = new URL("../examples/deploy/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, DEPLOY), "utf8");
const dockerfile = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8");
/** The state dir the image declares; both deployments must mount their volume exactly there. */
const STATE_DIR = /KASM_GITOPS_STATE_DIR=(\S+)/.exec(dockerfile)?.[1];

type Service = {
  command?: string[];
  environment: Record<string, string>;
  volumes: (string | { type: string; source: string; target: string })[];
  deploy?: { mode?: string; replicas?: number; update_config?: { order?: string } };
  ports: unknown[];
  secrets?: { source: string }[];
};

describe("deployment examples", () => {
  it("the Swarm stack loads with Docker's own loader: global, one agent per node, socket and state", async () => {
    const { stdout } = await promisify(execFile)(
      "docker",
      ["stack", "config", "-c", new URL("swarm-stack.yml", DEPLOY).pathname],
      {
        env: {
          ...process.env,
          KASM_GITOPS_REPO: "https://git.example.com/kasm/fleet.git",
          DOCKER_GID: "998",
        },
      },
    );
    const services = (parse(stdout) as { services: Record<string, Service> }).services;
    const service = services.reconciler!;
    expect(service.deploy?.mode).toBe("global");
    expect(service.environment.KASM_GITOPS_AGENT).toBe("{{.Node.Hostname}}");
    expect(service.volumes).toEqual([
      { type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" },
      { type: "volume", source: "state", target: STATE_DIR },
    ]);
    expect(stdout).toContain("user: 10001:998");
    // The Kasm syncer: one replica, replaced stop-first, no Docker socket, the Kasm key pair as Swarm secrets.
    const syncer = services.syncer!;
    expect(syncer.command).toEqual(["run", "--kasm-only"]);
    expect(syncer.deploy).toMatchObject({
      mode: "replicated",
      replicas: 1,
      update_config: { order: "stop-first" },
    });
    expect(syncer.volumes).toEqual([{ type: "volume", source: "syncer-state", target: STATE_DIR }]);
    expect(syncer.secrets?.map((x) => x.source).sort()).toEqual([
      "corp-registry-token",
      "kasm-api-key",
      "kasm-api-key-secret",
    ]);
    expect(syncer.environment.KASM_GITOPS_AGENT).toBeUndefined();
  });

  it("the compose file mounts the socket and the state dir, and .env.example lists every required variable", () => {
    const compose = read("docker-compose.yml");
    const service = (parse(compose) as { services: Record<string, Service> }).services["kasm-gitops"]!;
    expect(STATE_DIR).toBe("/var/lib/kasm-gitops");
    expect(service.volumes).toEqual(["/var/run/docker.sock:/var/run/docker.sock", `state:${STATE_DIR}`]);
    expect(service.ports).toEqual(["127.0.0.1:8080:8080"]);
    const required = [...compose.matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    const listed = read(".env.example")
      .split("\n")
      .map((line) => /^([A-Z_]+)=/.exec(line)?.[1])
      .filter(Boolean);
    expect(listed).toEqual(expect.arrayContaining(required));
  });
});
