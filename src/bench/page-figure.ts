/**
 * The status page at fleet scale: drawing a real plan of 200 agents × 50 workspaces as the page's matrix (the
 * cost it adds to each daemon cycle, against the plan itself), and rendering the page from that status
 * (against serialising the same status as `/status` JSON), in the same process.
 */
import { desiredState } from "../core/plan/desired.js";
import { buildPlan } from "../core/plan/plan.js";
import { fleetView } from "../core/status/fleet-view.js";
import { renderStatusPage } from "../http/status-page.js";
import { sampleStatus } from "../http/status-sample.js";
import { measurePair } from "./core-figure.js";
import { planInputs } from "./core-inputs.js";
import { atMost, type FigureLine, ratioOf } from "./table.js";

export type PageSizes = { agents: number; workspaces: number; runs: number };
export const PAGE_DEFAULTS: PageSizes = { agents: 200, workspaces: 50, runs: 5 };

const AT = new Date("2026-11-27T10:00:00Z");

export function benchPage(sizes: PageSizes = PAGE_DEFAULTS): FigureLine[] {
  const inputs = planInputs(sizes);
  const { set, digests } = inputs;
  const desired = desiredState(set);
  const planOf = (observations: ReturnType<typeof inputs.freshObservations>) =>
    buildPlan({ revision: "0".repeat(40), branch: "main", set, desired, observations, digests });
  const view = measurePair(sizes.runs, inputs.freshObservations, planOf, (observations) =>
    fleetView({ set, desired, plan: planOf(observations), observations, at: AT }),
  );
  const fleet = view.work.result;
  const cells = Object.values(fleet.cells).reduce((n, row) => n + Object.keys(row).length, 0);
  // The sample's reasons, promotions, prune and 50 events, around the matrix of the real plan.
  const status = { ...sampleStatus(1, 1, AT), fleet };
  const page = measurePair(
    sizes.runs,
    () => status,
    (s) => JSON.stringify(s, null, 2),
    (s) => renderStatusPage(s, AT),
  );
  const size = `${sizes.agents} agents × ${sizes.workspaces} workspaces`;
  const viewMs = view.work.ms - view.base.ms;
  return [
    {
      id: "page.render",
      what: `render the status page, ${size}`,
      measured: { value: page.work.ms, unit: "ms" },
      baseline: { value: page.base.ms, unit: "ms", label: "/status JSON of the same status" },
      ...optionalRatio(page.work.ms, page.base.ms),
      target: atMost(page.work.ms, 1000, "< 1 s"),
      notes: [
        `${cells} cells selected of ${fleet.agents.length * fleet.workspaces.length}; page ${(page.work.result.length / 1e6).toFixed(2)} MB, /status JSON ${(page.base.result.length / 1e6).toFixed(2)} MB`,
        `runs: ${page.workRuns.map((r) => r.ms.toFixed(0)).join(", ")} ms (median reported)`,
      ],
    },
    {
      id: "page.view",
      what: `draw one cycle's plan as the page's matrix, ${size}`,
      measured: { value: viewMs, unit: "ms" },
      baseline: { value: view.base.ms, unit: "ms", label: "building the plan itself" },
      ...optionalRatio(viewMs, view.base.ms),
      notes: [
        "measured: (plan + fleetView) − plan, medians of alternating runs; what the status page adds to each daemon cycle",
        `plan + view runs: ${view.workRuns.map((r) => r.ms.toFixed(0)).join(", ")} ms`,
      ],
    },
  ];
}

const optionalRatio = (measured: number, baseline: number) => {
  const ratio = ratioOf(measured, baseline);
  return ratio === undefined ? {} : { ratio };
};
