/** `agents.yaml` when import could see Kasm's agents: one Agent each, only its Docker address left to fill in. */
import { Document } from "yaml";
import { API_VERSION } from "../manifest/types.js";
import { DOCKER_HOST_PLACEHOLDER, type ImportedAgent } from "./agents.js";

/** Text as YAML comment lines (`# text`). */
const comment = (text: string) =>
  text
    .split("\n")
    .map((line) => `#${line ? ` ${line}` : ""}`)
    .join("\n");

/** One document per Kasm agent, in hostname order, each with a comment saying what to fill in. */
export function agentsFile(agents: readonly ImportedAgent[]): { path: string; text: string } {
  const intro = comment(
    [
      "Agents are the Docker hosts of your Kasm agents; kasm-gitops makes sure each holds the images of the",
      "workspaces it serves. One per agent Kasm lists (get_servers), naming it and its zone (spec.kasm) and",
      `labelled with the zone. Left to fill in: each spec.docker.host (${DOCKER_HOST_PLACEHOLDER} is a`,
      "placeholder that never resolves): tcp://host:2376 with tls: {ca, cert, key} for a remote engine.",
    ].join("\n"),
  );
  const docs = agents.map((a) => {
    const doc = new Document({
      apiVersion: API_VERSION,
      kind: "Agent",
      metadata: { name: a.name, ...(Object.keys(a.labels).length > 0 ? { labels: a.labels } : {}) },
      spec: {
        docker: { host: DOCKER_HOST_PLACEHOLDER },
        kasm: { server: a.hostname, ...(a.zone !== undefined ? { zone: a.zone } : {}) },
      },
    });
    doc.commentBefore = ` Kasm agent ${a.hostname} (server_id ${a.serverId}): set spec.docker.host to its Docker Engine.`;
    return doc.toString({ lineWidth: 0 });
  });
  return { path: "agents.yaml", text: `${intro}\n\n${docs.join("---\n")}` };
}
