import type { CellState, FleetCell, FleetView } from "../core/status/fleet-view.js";
import type { StatusView } from "../core/status/status-view.js";

const STATES: CellState[] = [
  "held",
  "held",
  "held",
  "held",
  "held",
  "held",
  "pending",
  "pulling",
  "failed",
  "unknown",
];

/**
 * A synthetic fleet's status, `agents` × `workspaces`, with every cell state, a promotion of each kind and
 * 50 events: what the page's tests and `npm run bench` render. Deterministic (no clock, no randomness).
 */
export function sampleStatus(
  agents: number,
  workspaces: number,
  at = new Date("2026-11-27T10:00:00Z"),
): StatusView {
  const iso = at.toISOString();
  const names = Array.from({ length: workspaces }, (_, w) => `ws-${String(w).padStart(3, "0")}`);
  const fleetAgents = Array.from({ length: agents }, (_, a) => ({
    name: `agent-${String(a).padStart(3, "0")}`,
    labels: { ring: a % 10 === 0 ? "testing" : "production" },
    enabled: true,
  }));
  const cells: FleetView["cells"] = {};
  fleetAgents.forEach((agent, a) => {
    const row: Record<string, FleetCell> = {};
    names.forEach((name, w) => {
      if ((a + w) % 7 === 6) return; // not selected
      const state = STATES[(a * 3 + w) % STATES.length]!;
      const digest = `sha256:${((a * 131 + w * 17) % 4096).toString(16).padStart(4, "0").repeat(16)}`;
      row[name] = {
        state,
        image: `registry.example.com/kasm/${name}:1.${w % 4}`,
        digest,
        ...(state === "pulling"
          ? { progress: { bytesDone: 40e6, bytesTotal: 100e6, layersDone: 2, layersTotal: 5 } }
          : {}),
        ...(state === "failed" ? { why: "manifest unknown: registry.example.com answered 404" } : {}),
        ...(state === "unknown" ? { why: "registry-unavailable: 503 Service Unavailable" } : {}),
        ...(state === "pending" ? { why: "missing on the agent" } : {}),
      };
    });
    cells[agent.name] = row;
  });
  const fleet: FleetView = {
    at: iso,
    revision: "a".repeat(40),
    workspaces: names.map((name, w) => ({
      name,
      image: `registry.example.com/kasm/${name}:1.${w % 4}`,
      friendlyName: `Workspace ${w}`,
      enabled: true,
    })),
    agents: fleetAgents,
    cells,
    promotions: (["done", "pending", "waiting", "blocked"] as const).map((state, i) => ({
      workspace: names[i % names.length]!,
      from: `${names[i % names.length]!}-testing`,
      movingTags: ["latest"],
      state,
      digest: `sha256:${"b".repeat(64)}`,
      ...(state === "blocked" ? { message: "sha256:bbbb… was never verified on the testing ring" } : {}),
    })),
    kasmRecords: Object.fromEntries(
      names.map((n, w) => [n, w % 5 === 0 ? { state: "repaired", fields: ["cores"] } : { state: "in-sync" }]),
    ),
  };
  return {
    branch: "main",
    revision: "a".repeat(40),
    lastGoodRevision: "a".repeat(40),
    lastCycle: {
      id: "c0ffee00",
      trigger: "interval",
      startedAt: iso,
      finishedAt: iso,
      result: "failed",
      error: "1 action(s) failed",
    },
    agents: Object.fromEntries(
      fleetAgents.map((a) => [a.name, { reachable: true, converged: false, pending: 1 }]),
    ),
    kasm: { url: "https://kasm.example.com", reachable: true, managed: workspaces, drift: 1, pending: 0 },
    ready: true,
    state: "degraded",
    reasons: ["pull registry.example.com/kasm/ws-000:1.0 on agent-000 failed: manifest unknown"],
    unknown: [],
    fleet,
    prune: {
      [fleetAgents[0]?.name ?? "agent-000"]: { at: iso, removed: 2, freedBytes: 3e9, kept: 1, failed: 0 },
    },
    events: Array.from({ length: 50 }, (_, i) => ({
      at: iso,
      level: i % 5 === 0 ? "error" : "info",
      message: `event ${i}`,
    })),
    schedule: { interval: "30s", refresh: "0 * * * *", workspaceCrons: [] },
  };
}
