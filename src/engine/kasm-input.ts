/** What the Kasm planner is given each cycle: Kasm as observed now, what was written before, the registries. */
import { randomBytes } from "node:crypto";
import { type CredentialsFingerprint, keyedFingerprint } from "../core/fingerprint.js";
import type { PlanInput } from "../core/plan/plan.js";
import type { ReconcileDeps } from "./cycle.js";
import type { Fleet } from "./fleet.js";
import { observeKasm, readsKasmAgents, registryInfo } from "./kasm-sync.js";

/** Observes Kasm for a plan: its records and the groups Git names now or named before. */
export async function kasmInput(
  fleet: Fleet,
  deps: ReconcileDeps,
  signal?: AbortSignal,
  /** `agents: true` (`--kasm-only`): read Kasm's agents whether or not an Agent names one. */
  options: { agents?: boolean } = {},
): Promise<PlanInput["kasm"]> {
  const kasm = fleet.kasm;
  if (!kasm) return undefined;
  const written = (await deps.kasmWritten?.read()) ?? { records: {}, groups: [] };
  const { observed, groupsRead } = kasm.api
    ? await observeKasm(kasm.api, signal, {
        agents: options.agents === true || readsKasmAgents(fleet.set),
      })
    : {
        observed: {
          reachable: false as const,
          error: kasm.error ?? "no Kasm API",
          ...(kasm.reason ? { reason: kasm.reason } : {}),
        },
        groupsRead: [],
      };
  return {
    server: kasm.config,
    observed,
    groupsRead,
    registries: registryInfo(
      fleet.set,
      (name) => fleet.registries.get(name)?.credentials,
      await fingerprinter(deps),
    ),
    applied: new Map(Object.entries(written.records)),
  };
}

/** The state dir's keyed credential fingerprints; without a state store, a key of this process only. */
export async function fingerprinter(deps: ReconcileDeps): Promise<CredentialsFingerprint> {
  if (deps.kasmWritten) return deps.kasmWritten.fingerprinter();
  processKey ??= keyedFingerprint(randomBytes(32));
  return processKey;
}
let processKey: CredentialsFingerprint | undefined;
