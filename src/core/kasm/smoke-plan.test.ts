import { describe, expect, it } from "vitest";
import { agent, workspace } from "../../../test/helpers/manifests.js";
import { indexLocalImages, type LocalImageIndex } from "../image/local.js";
import type { WorkspaceManifest } from "../manifest/types.js";
import type { Action, BlockedAction } from "../plan/types.js";
import { type SmokeResult, type SmokeState, specFingerprint } from "./smoke.js";
import { planSmokes } from "./smoke-plan.js";
import { type KasmObservation, type KasmRecord, markerFor } from "./types.js";

const H = "reg.test:5000";
const IMAGE = `${H}/kasm/chrome:1`;
const d = (c: string) => `sha256:${c.repeat(64)}`;
const [D, E, P] = [d("d"), d("e"), d("f")];
const AGENTS = [agent("a1", { ring: "testing" }), agent("a2", { ring: "testing" })];

const ws = (extra: Record<string, unknown> = {}, image = IMAGE): WorkspaceManifest =>
  workspace("chrome", { image, agents: { matchLabels: { ring: "testing" } }, smoke: true, ...extra });
/** Agents holding the image at a digest each (absent: the agent holds nothing). */
const holding = (...digests: string[]): Map<string, LocalImageIndex> =>
  new Map(
    digests.map((digest, i) => [
      `a${i + 1}`,
      indexLocalImages([
        { id: `sha256:${i}`, repoTags: [IMAGE], repoDigests: [`${H}/kasm/chrome@${digest}`] },
      ]),
    ]),
  );
const record = (name = IMAGE): KasmRecord =>
  ({ imageId: "r1", name, notes: markerFor("chrome"), dockerTokenSet: false }) as unknown as KasmRecord;
const kasm = (records: KasmRecord[] = [record()]): KasmObservation => ({
  reachable: true,
  records,
  groups: [],
  memberships: [],
});
const kept = (result: "pass" | "fail", w = ws()): SmokeState => ({
  results: {
    [`chrome@${D}`]: {
      digest: D,
      workspace: "chrome",
      result,
      message: result === "pass" ? "ran for 30s on Kasm agent s1" : "the session stopped before it ran",
      startedAt: "2026-01-01T00:00:00Z",
      finishedAt: "2026-01-01T00:00:31Z",
      spec: specFingerprint(w),
    } satisfies SmokeResult,
  },
  pending: [],
});
const pull = (agentName: string): Action => ({
  type: "pull",
  agent: agentName,
  image: IMAGE,
  workspaces: ["chrome"],
  reason: "missing",
});
const create = { type: "kasm-create", workspace: "chrome", after: [0, 1] } as unknown as Action;
const update = { type: "kasm-update", workspace: "chrome", imageId: "r1", after: [] } as unknown as Action;
const heldUpdate = {
  type: "kasm-update",
  workspace: "chrome",
  reason: "image-not-on-agents",
} as BlockedAction;

type Case = {
  name: string;
  workspace?: WorkspaceManifest;
  indexes?: Map<string, LocalImageIndex>;
  expected?: Map<string, string>;
  observed?: KasmObservation;
  actions?: Action[];
  blocked?: BlockedAction[];
  state?: SmokeState;
  /** One line per smoke action (`smoke WORKSPACE DIGEST RECORD after … REASON`), then `✓`/`✗` per result. */
  lines: string[];
};

const cases: Case[] = [
  { name: "the record points at an untested digest", lines: [`smoke chrome ${D} r1 after  untested`] },
  { name: "no smoke asked", workspace: ws({ smoke: undefined }), lines: [] },
  { name: "a disabled workspace", workspace: ws({ enabled: false }), lines: [] },
  { name: "a pass known: relied on, not run", state: kept("pass"), lines: [`✓ chrome ${D}`] },
  {
    name: "a fail under this manifest: relied on, not retried",
    state: kept("fail"),
    lines: [`✗ chrome ${D}`],
  },
  {
    name: "a fail under another manifest: retried",
    state: kept("fail", ws({ smoke: { hold: "1m" } })),
    lines: [`smoke chrome ${D} r1 after  retry`],
  },
  { name: "a held switch: tested once it happens", blocked: [heldUpdate], lines: [] },
  {
    name: "a record this plan creates: after its create and pulls, by the id Kasm returns",
    observed: kasm([]),
    actions: [pull("a1"), pull("a2"), create],
    lines: [`smoke chrome ${D} new after 0,1,2 untested`],
  },
  {
    name: "a record this plan updates: after the update",
    observed: kasm([record(`${H}/kasm/chrome:0`)]),
    actions: [update],
    lines: [`smoke chrome ${D} r1 after 0 untested`],
  },
  { name: "no record, none planned", observed: kasm([]), lines: [] },
  {
    name: "the record on another image, no switch",
    observed: kasm([record(`${H}/kasm/chrome:0`)]),
    lines: [],
  },
  { name: "Kasm unreadable", observed: { reachable: false, error: "down" }, lines: [] },
  { name: "the agents disagree on the digest", indexes: holding(D, E), lines: [] },
  {
    name: "an agent that did not answer is left out",
    indexes: holding(D),
    lines: [`smoke chrome ${D} r1 after  untested`],
  },
  {
    name: "an agent that answered without the image: digest unknown",
    indexes: new Map([...holding(D), ["a2", indexLocalImages([])]]),
    lines: [],
  },
  {
    name: "the registry's digest this cycle wins over the agents'",
    expected: new Map([[IMAGE, E]]),
    lines: [`smoke chrome ${E} r1 after  untested`],
  },
  {
    name: "a pinned digest is the one tested",
    workspace: ws({}, `${H}/kasm/chrome@${P}`),
    observed: kasm([record(`${H}/kasm/chrome@${P}`)]),
    lines: [`smoke chrome ${P} r1 after  untested`],
  },
];

describe("planSmokes: which switches get a smoke test", () => {
  it.each(cases)("$name", (c) => {
    const { actions, results } = planSmokes({
      workspaces: [c.workspace ?? ws()],
      agents: AGENTS,
      indexes: c.indexes ?? holding(D, D),
      expected: c.expected ?? new Map(),
      observed: c.observed ?? kasm(),
      actions: c.actions ?? [],
      blocked: c.blocked ?? [],
      state: c.state ?? { results: {}, pending: [] },
    });
    expect([
      ...actions.map(
        (a) => `smoke ${a.workspace} ${a.digest} ${a.imageId ?? "new"} after ${a.after} ${a.reason}`,
      ),
      ...results.map((r) => `${r.result === "pass" ? "✓" : "✗"} ${r.workspace} ${r.digest}`),
    ]).toEqual(c.lines);
  });
});
