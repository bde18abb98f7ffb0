import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { type LabEngine, startEngine } from "../../src/lab/lab.js";
import { unmountUnder } from "../../src/lab/ownership.js";
import { freePort, stopProcess, waitFor } from "../../src/lab/processes.js";

const exec = promisify(execFile);

/** A throwaway lab engine in swarm mode, so the shared engines other tests count images on stay untouched. */
export type SwarmNode = {
  engine: LabEngine;
  docker: Docker;
  /** The node's hostname: what `{{.Node.Hostname}}` expands to. */
  hostname: string;
  /** Runs the docker CLI against this engine. */
  cli(args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  /** Removes the stack's services and waits until their containers are gone. */
  removeStack(stack: string): Promise<void>;
  /** Leaves the swarm, stops the engine and deletes its folder; every step runs, the errors are thrown together. */
  close(): Promise<void>;
};

/** A UDP port free on loopback in swarm's allowed data-path range (1024–49151), so parallel swarms do not share VXLAN's. */
async function freeUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 29_000);
    const socket = createSocket("udp4");
    const free = await new Promise<boolean>((resolve) => {
      socket.once("error", () => resolve(false));
      socket.bind(port, "127.0.0.1", () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (free) return port;
  }
  throw new Error("no free UDP port for the swarm's data path");
}

/**
 * Starts a lab engine in `labDir` and makes it a single-node swarm manager on loopback, labelled as a Kasm agent.
 * Swarm mode creates the host bridge `docker_gwbridge`; it is made first under a unique interface name, so two
 * runs on one machine never share (or delete) each other's.
 */
export async function startSwarmNode(labDir: string, labels: Record<string, string>): Promise<SwarmNode> {
  const id = randomBytes(4).toString("hex");
  const engine = await startEngine(join(labDir, `swarm-${id}`), `swarm-${id}`);
  const docker = new Docker({ socketPath: engine.socket });
  const env = { ...process.env, DOCKER_HOST: engine.host };
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    exec("docker", args, { env: { ...env, ...extra }, maxBuffer: 16 << 20 }).catch((error: Error) => {
      throw new Error(`docker ${args.join(" ")} failed: ${error.message}`);
    });
  const node: SwarmNode = {
    engine,
    docker,
    hostname: "",
    cli,
    async removeStack(stack) {
      await cli(["stack", "rm", stack]);
      await waitFor(
        `the containers of stack ${stack} to go`,
        async () =>
          (
            await docker.listContainers({
              all: true,
              filters: { label: [`com.docker.stack.namespace=${stack}`] },
            })
          ).length === 0,
        60_000,
      );
    },
    async close() {
      const errors: unknown[] = [];
      const step = async (what: () => Promise<unknown>) => {
        await what().catch((error: unknown) => errors.push(error));
      };
      await step(async () => {
        if ((await docker.info()).Swarm?.LocalNodeState !== "inactive")
          await docker.swarmLeave({ force: true });
      });
      await step(async () => {
        const gateways = await docker.listNetworks({ filters: { name: ["docker_gwbridge"] } });
        for (const network of gateways) await docker.getNetwork(network.Id).remove();
      });
      await step(() => stopProcess(engine.pid));
      await step(async () => {
        const left = await unmountUnder(engine.dir);
        if (left.length) throw new Error(`could not unmount ${left.join(", ")}`);
      });
      await step(() => rm(engine.dir, { recursive: true, force: true }));
      if (errors.length) throw new AggregateError(errors, `cleaning up swarm engine ${engine.dir}`);
    },
  };
  try {
    await docker.createNetwork({
      Name: "docker_gwbridge",
      Driver: "bridge",
      Options: {
        "com.docker.network.bridge.name": `kgw${id}`,
        "com.docker.network.bridge.enable_icc": "false",
        "com.docker.network.bridge.enable_ip_masquerade": "false",
      },
    });
    const address = `127.0.0.1:${await freePort()}`;
    await docker.swarmInit({
      ListenAddr: address,
      AdvertiseAddr: address,
      DataPathPort: await freeUdpPort(),
    });
    const { NodeID } = (await docker.info()).Swarm;
    const labelArgs = Object.entries(labels).flatMap(([k, v]) => ["--label-add", `${k}=${v}`]);
    await cli(["node", "update", ...labelArgs, NodeID]);
    const inspected = await docker.getNode(NodeID).inspect();
    node.hostname = inspected.Description.Hostname;
    return node;
  } catch (error) {
    await node.close().catch(() => {});
    throw error;
  }
}
