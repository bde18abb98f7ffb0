import { describe, expect, it } from "vitest";
import type { Metrics } from "../ports.js";
import { createMetrics } from "./metrics.js";

describe("createMetrics", () => {
  it.each<[string, (m: Metrics) => void, string[]]>([
    [
      "a cycle",
      (m) => m.cycleFinished("ok", 1500),
      [
        'kasm_gitops_cycles_total{result="ok"} 1',
        'kasm_gitops_cycle_duration_seconds_sum{result="ok"} 1.5',
        "kasm_gitops_last_successful_cycle_timestamp_seconds 1700000000",
      ],
    ],
    [
      "a refused revision does not count as success",
      (m) => m.cycleFinished("invalid-revision", 10),
      [
        'kasm_gitops_cycles_total{result="invalid-revision"} 1',
        "kasm_gitops_last_successful_cycle_timestamp_seconds 0",
      ],
    ],
    [
      "prune removals and an agent's image bytes",
      (m) => {
        m.removalFinished("agent-1", "ok", 1000);
        m.removalFinished("agent-1", "ok", 500);
        m.removalFinished("agent-1", "kept", 700);
        m.setAgentImageBytes("agent-1", 123456);
      },
      [
        'kasm_gitops_image_removals_total{agent="agent-1",result="ok"} 2',
        'kasm_gitops_image_removals_total{agent="agent-1",result="kept"} 1',
        'kasm_gitops_image_bytes_freed_total{agent="agent-1"} 1500',
        'kasm_gitops_agent_image_bytes{agent="agent-1"} 123456',
      ],
    ],
    [
      "two pulls",
      (m) => {
        m.pullFinished("agent-1", "ok", 2000);
        m.pullFinished("agent-1", "ok", 4000);
      },
      [
        'kasm_gitops_pulls_total{agent="agent-1",result="ok"} 2',
        'kasm_gitops_pull_duration_seconds_sum{agent="agent-1",result="ok"} 6',
        'kasm_gitops_pull_duration_seconds_bucket{le="5",agent="agent-1",result="ok"} 2',
      ],
    ],
    [
      "registry requests, with and without a response",
      (m) => {
        m.registryRequest("reg:5000", "head", 200);
        m.registryRequest("reg:5000", "HEAD", "error");
      },
      [
        'kasm_gitops_registry_requests_total{host="reg:5000",method="HEAD",status="200"} 1',
        'kasm_gitops_registry_requests_total{host="reg:5000",method="HEAD",status="error"} 1',
      ],
    ],
    ["agents", (m) => m.setAgents(1, 3), ["kasm_gitops_agents_reachable 1", "kasm_gitops_agents 3"]],
    [
      "Kasm actions and records",
      (m) => {
        m.kasmActionFinished("kasm-update", "ok");
        m.kasmActionFinished("kasm-update", "skipped");
        m.setKasmRecords(12, 1);
      },
      [
        'kasm_gitops_kasm_actions_total{type="kasm-update",status="ok"} 1',
        'kasm_gitops_kasm_actions_total{type="kasm-update",status="skipped"} 1',
        "kasm_gitops_kasm_managed_records 12",
        "kasm_gitops_kasm_drift_records 1",
        'kasm_gitops_kasm_held_changes{reason="image-not-on-agents"} 0',
      ],
    ],
    [
      "Kasm changes held, by reason",
      (m) => m.setKasmRecords(1, 0, { "kasm-report-stale": 2 }),
      [
        'kasm_gitops_kasm_held_changes{reason="kasm-report-stale"} 2',
        'kasm_gitops_kasm_held_changes{reason="kasm-digest-unknown"} 0',
      ],
    ],
    [
      "a blocked promotion",
      (m) => m.promotionFinished("blocked"),
      ['kasm_gitops_promotions_total{result="blocked"} 1'],
    ],
    [
      "a smoke test that failed",
      (m) => m.smokeFinished("fail", 31_500),
      ['kasm_gitops_smoke_total{result="fail"} 1', "kasm_gitops_smoke_last_duration_seconds 31.5"],
    ],
    [
      "nothing verified yet",
      () => {},
      ["kasm_gitops_converged 0", 'kasm_gitops_unknown_checks{kind="registry"} 0'],
    ],
    [
      "a degraded cycle, then a converged one",
      (m) => {
        m.setConverged(false, { registry: 2, agent: 1 });
      },
      [
        "kasm_gitops_converged 0",
        'kasm_gitops_unknown_checks{kind="registry"} 2',
        'kasm_gitops_unknown_checks{kind="agent"} 1',
        'kasm_gitops_unknown_checks{kind="kasm"} 0',
      ],
    ],
    ["converged", (m) => m.setConverged(true, {}), ["kasm_gitops_converged 1"]],
    [
      "a notification retried, then sent",
      (m) => {
        m.notification("ops", "slack", "retried");
        m.notification("ops", "slack", "sent");
      },
      [
        'kasm_gitops_notifications_total{notification="ops",type="slack",result="retried"} 1',
        'kasm_gitops_notifications_total{notification="ops",type="slack",result="sent"} 1',
      ],
    ],
    [
      "update checks and automated commits",
      (m) => {
        m.updateChecked("ok");
        m.updateChecked("ok");
        m.updateChecked("error");
        m.automationProposal("chrome-testing", "update", "pushed");
        m.automationProposal("chrome", "promote", "blocked");
      },
      [
        'kasm_gitops_update_checks_total{result="ok"} 2',
        'kasm_gitops_update_checks_total{result="error"} 1',
        'kasm_gitops_update_proposals_total{workspace="chrome-testing",kind="update",result="pushed"} 1',
        'kasm_gitops_update_proposals_total{workspace="chrome",kind="promote",result="blocked"} 1',
      ],
    ],
    [
      "process metrics carry the prefix",
      () => {},
      ["kasm_gitops_process_resident_memory_bytes", "kasm_gitops_process_cpu_seconds_total"],
    ],
  ])("%s", async (_, act, expected) => {
    const metrics = createMetrics({ now: () => 1_700_000_000_000 });
    act(metrics);
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of expected) expect(body).toContain(line);
  });

  it("keeps only the revision in force in the info gauge", async () => {
    const metrics = createMetrics();
    metrics.setAppliedRevision("a".repeat(40));
    metrics.setAppliedRevision("b".repeat(40));
    const { body } = await metrics.render();
    expect(body).toContain(`kasm_gitops_applied_revision_info{revision="${"b".repeat(40)}"} 1`);
    expect(body).not.toContain("a".repeat(40));
  });

  it.each<[string, (string | undefined)[], string[]]>([
    ["a candidate waits", ["20261206"], ["20261206"]],
    ["a newer one replaces it", ["20261206", "20261207"], ["20261207"]],
    ["none any more", ["20261206", undefined], []],
    ["the same one again", ["20261206", "20261206"], ["20261206"]],
  ])("the candidate gauge: %s", async (_, tags, shown) => {
    const metrics = createMetrics();
    for (const tag of tags) metrics.setUpdateCandidate("w", tag);
    metrics.setUpdateCandidate("other", "1");
    const { body } = await metrics.render();
    const series = [...body.matchAll(/^kasm_gitops_update_candidate\{workspace="w",tag="([^"]+)"\} 1$/gm)];
    expect(series.map((m) => m[1])).toEqual(shown);
    expect(body).toContain('kasm_gitops_update_candidate{workspace="other",tag="1"} 1');
  });

  it("gives every set its own registry", async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.promotionFinished("ok");
    expect((await second.render()).body).not.toContain('kasm_gitops_promotions_total{result="ok"}');
  });
});
