import { describe, expect, it } from "vitest";
import type { Problem } from "./types.js";
import { checkManifestFiles, formatProblem } from "./validate.js";

/** Context every case sees, in a file that sorts first: a registry, an agent and a workspace. */
const BASE = `apiVersion: kasm-gitops/v1
kind: Registry
metadata: {name: corp}
spec: {host: "registry.example.com:5000"}
---
apiVersion: kasm-gitops/v1
kind: Agent
metadata: {name: agent-1, labels: {ring: testing}}
spec: {docker: {host: "unix:///var/run/docker.sock"}}
---
apiVersion: kasm-gitops/v1
kind: Workspace
metadata: {name: chrome-testing}
spec: {image: "registry.example.com:5000/kasm/chrome:2", registry: corp}
`;

/** A workspace whose extra spec lines start at line 7. */
const workspace = (...extra: string[]) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: Workspace",
    "metadata: {name: w}",
    "spec:",
    "  image: registry.example.com:5000/kasm/chrome:1",
    "  registry: corp",
    ...extra,
    "",
  ].join("\n");
/** A registry whose extra spec lines start at line 6. */
const registry = (...extra: string[]) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: Registry",
    "metadata: {name: r}",
    "spec:",
    "  host: registry.example.com",
    ...extra,
    "",
  ].join("\n");
/** An agent whose extra spec lines start at line 7. */
const agent = (...extra: string[]) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: Agent",
    "metadata: {name: a}",
    "spec:",
    "  docker:",
    '    host: "tcp://agent.example.com:2376"',
    ...extra,
    "",
  ].join("\n");
/** Settings whose spec lines start at line 5. */
const settings = (...extra: string[]) =>
  ["apiVersion: kasm-gitops/v1", "kind: Settings", "metadata: {name: other}", "spec:", ...extra, ""].join(
    "\n",
  );

/** A KasmServer whose extra spec lines start at line 8. */
const kasmServer = (url = "https://kasm.example.com", ...extra: string[]) =>
  [
    "apiVersion: kasm-gitops/v1",
    "kind: KasmServer",
    "metadata: {name: kasm}",
    "spec:",
    `  url: ${url}`,
    "  apiKey: {env: KASM_SECRET_KASM_API_KEY}",
    "  apiKeySecret: {env: KASM_SECRET_KASM_API_KEY_SECRET}",
    ...extra,
    "",
  ].join("\n");
/** A workspace whose `kasm` block lines start at line 8. */
const kasmBlock = (...lines: string[]) => workspace("  kasm:", ...lines.map((l) => `    ${l}`));
const IMAGE_ID = "3f2a9c0e5b7d4e1f8a6b2c3d4e5f6a7b";

const check = (text: string) =>
  checkManifestFiles([
    { file: "a-base.yaml", text: BASE },
    { file: "case.yaml", text },
  ]);

const CASES: [string, string, string, number, number][] = [
  // YAML
  ["a syntax error", "apiVersion: kasm-gitops/v1\nkind: [Workspace\nfoo: 1\n", "yaml-syntax", 3, 1],
  ["a duplicate key", workspace("  groups: [a]", "  groups: [b]"), "duplicate-key", 8, 3],
  [
    "a tab as indentation",
    "apiVersion: kasm-gitops/v1\nkind: Workspace\nspec:\n\timage: x\n",
    "tab-indent",
    4,
    1,
  ],
  ["a document that is a list", "- apiVersion: kasm-gitops/v1\n", "not-a-mapping", 1, 1],
  ["an alias without anchor", workspace("  groups: *nope"), "unresolved-alias", 7, 11],
  ["an unknown YAML tag", workspace("  friendlyName: !secret x"), "yaml-warning", 7, 17],
  // Document identity
  ["no apiVersion", "kind: Workspace\nmetadata: {name: w}\n", "missing-property", 1, 1],
  ["another apiVersion", "apiVersion: kasm-gitops/v2\nkind: Workspace\n", "unsupported-api-version", 1, 13],
  ["an unknown kind", "apiVersion: kasm-gitops/v1\nkind: Workspce\n", "unknown-kind", 2, 7],
  ["no spec", "apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: r}\n", "missing-property", 1, 1],
  // Schema constraints
  ["an unknown spec property", workspace("  frendlyName: Chrome"), "unknown-property", 7, 3],
  ["an unknown top-level property", `${workspace()}status: {}\n`, "unknown-property", 7, 1],
  ["a string where a boolean goes", workspace('  enabled: "yes"'), "wrong-type", 7, 12],
  ["a number where a string goes", workspace("  friendlyName: 5"), "wrong-type", 7, 17],
  [
    "a list where a mapping goes",
    "apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: s}\nspec: [1]\n",
    "wrong-type",
    4,
    7,
  ],
  ["a number as user name", registry("  auth: {username: 5, password: {env: P}}"), "wrong-type", 6, 20],
  [
    "a number as label value",
    "apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: a, labels: {ring: 1}}\nspec: {docker: {host: unix:///x}}\n",
    "wrong-type",
    3,
    36,
  ],
  [
    "a literal password",
    registry("  auth:", "    username: ci", "    password: hunter2"),
    "literal-secret",
    8,
    15,
  ],
  ["a literal TLS key", agent("    tls: {cert: {file: /c}, key: BEGIN}"), "literal-secret", 7, 34],
  [
    "a literal notification URL",
    "apiVersion: kasm-gitops/v1\nkind: Notification\nmetadata: {name: chat}\nspec:\n  type: slack\n  url: https://hooks.example.com/T0/B0/x\n  events: [degraded]\n",
    "literal-secret",
    6,
    8,
  ],
  [
    "an unknown notification event",
    "apiVersion: kasm-gitops/v1\nkind: Notification\nmetadata: {name: chat}\nspec: {type: slack, url: {env: KASM_SECRET_CHAT}, events: [deployed]}\n",
    "invalid-value",
    4,
    60,
  ],
  [
    "a secret reference with two sources",
    registry("  auth: {username: u, password: {env: P, file: /p}}"),
    "invalid-secret-ref",
    6,
    33,
  ],
  [
    "a misspelt secret source",
    registry("  auth: {username: u, password: {environment: P}}"),
    "unknown-property",
    6,
    34,
  ],
  [
    "a name that is not a DNS label",
    "apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: Corp_1}\nspec: {host: r.example.com}\n",
    "invalid-format",
    3,
    18,
  ],
  [
    "an environment variable with a dash",
    registry("  auth: {username: u, password: {env: my-token}}"),
    "invalid-format",
    6,
    39,
  ],
  [
    "a relative secret file",
    registry("  auth: {username: u, password: {file: secrets/p}}"),
    "invalid-format",
    6,
    40,
  ],
  [
    "a label key with a space",
    "apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: a, labels: {my ring: x}}\nspec: {docker: {host: unix:///x}}\n",
    "invalid-format",
    3,
    30,
  ],
  [
    "a Docker host without scheme",
    "apiVersion: kasm-gitops/v1\nkind: Agent\nmetadata: {name: a}\nspec: {docker: {host: /var/run/docker.sock}}\n",
    "invalid-format",
    4,
    23,
  ],
  [
    "a registry host with a scheme",
    "apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: r}\nspec: {host: https://r.example.com}\n",
    "invalid-format",
    4,
    14,
  ],
  ["a duration in words", settings("  interval: 30 seconds"), "invalid-format", 5, 13],
  [
    "a moving tag starting with a dot",
    workspace("  promotion: {from: chrome-testing, movingTags: [.bad]}"),
    "invalid-format",
    7,
    50,
  ],
  ["an empty friendly name", workspace('  friendlyName: ""'), "too-short", 7, 17],
  [
    "a name of 64 characters",
    `apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: ${"a".repeat(64)}}\nspec: {host: r.example.com}\n`,
    "too-long",
    3,
    18,
  ],
  ["no pull at all", agent("  maxConcurrentPulls: 0"), "out-of-range", 7, 23],
  ["an unknown prune mode", settings("  prune: {mode: all}"), "invalid-value", 5, 17],
  ["a negative keepPrevious", agent("  prune: {keepPrevious: -1}"), "out-of-range", 7, 25],
  ["a fractional keepPrevious", settings("  prune: {mode: unused, keepPrevious: 1.5}"), "wrong-type", 5, 39],
  ["a group listed twice", workspace("  groups: [qa, dev, qa]"), "duplicate-item", 7, 21],
  ["a TLS cert without key", agent("    tls: {cert: {file: /c}}"), "missing-property", 7, 5],
  ["a promotion without from", workspace("  promotion: {movingTags: [latest]}"), "missing-property", 7, 3],
  [
    "a workspace without image",
    "apiVersion: kasm-gitops/v1\nkind: Workspace\nmetadata: {name: w}\nspec:\n  registry: corp\n",
    "missing-property",
    4,
    1,
  ],
  // Semantic rules
  [
    "a duplicate name",
    "apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: corp}\nspec: {host: r.example.com}\n",
    "duplicate-name",
    3,
    18,
  ],
  [
    "a second Settings",
    `${settings("  interval: 1m")}---\n${settings("  maxConcurrentPulls: 3")}`,
    "multiple-settings",
    8,
    7,
  ],
  ["an unknown registry", workspace().replace("registry: corp", "registry: crop"), "unknown-registry", 6, 13],
  ["an image without tag or digest", workspace().replace("chrome:1", "chrome"), "image-missing-tag", 5, 10],
  [
    "an invalid image reference",
    workspace().replace("kasm/chrome:1", "Kasm/Chrome:1"),
    "invalid-image",
    5,
    10,
  ],
  [
    "an image of another host",
    workspace().replace("registry.example.com:5000/", "docker.io/"),
    "registry-host-mismatch",
    5,
    10,
  ],
  [
    "an image without host under a registry",
    workspace().replace("registry.example.com:5000/", ""),
    "registry-host-mismatch",
    5,
    10,
  ],
  [
    "a registry host Docker reads as a repository",
    "apiVersion: kasm-gitops/v1\nkind: Registry\nmetadata: {name: r}\nspec: {host: myregistry}\n",
    "invalid-registry-host",
    4,
    14,
  ],
  [
    "promotion from an unknown workspace",
    workspace("  promotion: {from: chrome-testnig}"),
    "unknown-workspace",
    7,
    21,
  ],
  ["promotion from itself", workspace("  promotion: {from: w}"), "promotion-self", 7, 21],
  [
    "promotion from another repository",
    workspace("  promotion: {from: chrome-testing}").replace("kasm/chrome", "kasm/firefox"),
    "promotion-other-repository",
    7,
    21,
  ],
  [
    "auto-promotion from a workspace without smoke tests",
    workspace("  promotion: {from: chrome-testing, auto: commit}"),
    "auto-promotion-without-smoke",
    7,
    43,
  ],
  [
    "an auto-promotion mode that is neither commit nor branch",
    workspace("  promotion: {from: chrome-testing, auto: yes}"),
    "invalid-value",
    7,
    43,
  ],
  [
    "a moving tag that is the image's tag",
    workspace("  promotion: {from: chrome-testing, movingTags: [latest, '1']}"),
    "moving-tag-is-image-tag",
    7,
    58,
  ],
  [
    "a selector matching no agent",
    workspace("  agents: {matchLabels: {ring: prod}}"),
    "selector-matches-nothing",
    7,
    12,
  ],
  ["an invalid refresh cron", workspace('  refresh: "61 * * * *"'), "invalid-cron", 7, 12],
  // Update policies
  [
    "an update pattern that is no regular expression",
    workspace("  update:", "    policy: numerical", "    filter: {pattern: '^(?<ts>\\d{8}$'}"),
    "invalid-update-policy",
    9,
    23,
  ],
  [
    "an update extract naming a group the pattern lacks",
    workspace("  update:", "    policy: numerical", "    filter: {pattern: '^(?P<ts>\\d+)$', extract: $tz}"),
    "invalid-update-policy",
    9,
    49,
  ],
  [
    "an update range that is no semver range",
    workspace("  update: {policy: semver, range: '>=one'}"),
    "invalid-update-policy",
    7,
    35,
  ],
  [
    "an update range on a numerical policy",
    workspace("  update: {policy: numerical, range: '>=1'}"),
    "invalid-update-policy",
    7,
    38,
  ],
  ["an unknown update policy", workspace("  update: {policy: newest}"), "invalid-value", 7, 20],
  [
    "an invalid update schedule",
    workspace("  update: {policy: semver, schedule: sometimes}"),
    "invalid-cron",
    7,
    38,
  ],
  [
    "an invalid refresh schedule",
    "apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: default}\nspec: {refreshSchedule: hourly}\n",
    "invalid-cron",
    4,
    25,
  ],
  [
    "an interval under a second",
    "apiVersion: kasm-gitops/v1\nkind: Settings\nmetadata: {name: default}\nspec: {interval: 500ms}\n",
    "invalid-duration",
    4,
    18,
  ],
  // Kasm web app sync
  [
    "a literal API key",
    kasmServer().replace("{env: KASM_SECRET_KASM_API_KEY}", "abc123"),
    "literal-secret",
    6,
    11,
  ],
  [
    "a literal API key secret",
    kasmServer().replace("{env: KASM_SECRET_KASM_API_KEY_SECRET}", "s3cr3t"),
    "literal-secret",
    7,
    17,
  ],
  ["a literal Kasm CA", kasmServer(undefined, "  tls: {ca: PEM}"), "literal-secret", 8, 13],
  ["a KasmServer without API key", kasmServer().replace(/ {2}apiKey: .*\n/, ""), "missing-property", 4, 1],
  ["plain http to another host", kasmServer("http://kasm.example.com"), "insecure-kasm-url", 5, 8],
  ["plain http to a LAN address", kasmServer("http://10.0.0.5:8443"), "insecure-kasm-url", 5, 8],
  ["a URL with a user", kasmServer("https://admin:pw@kasm.example.com"), "credentials-in-url", 5, 8],
  ["a URL without scheme", kasmServer("kasm.example.com"), "invalid-format", 5, 8],
  ["an unknown pulls mode", kasmServer(undefined, "  pulls: agents"), "invalid-value", 8, 10],
  ["an unknown removed policy", kasmServer(undefined, "  removed: purge"), "invalid-value", 8, 12],
  [
    "a Kasm call timeout under a second",
    kasmServer(undefined, "  timeout: 500ms"),
    "invalid-duration",
    8,
    12,
  ],
  [
    "a Kasm call timeout that is no duration",
    kasmServer(undefined, "  timeout: soon"),
    "invalid-format",
    8,
    12,
  ],
  [
    "a second KasmServer",
    `${kasmServer()}---\n${kasmServer().replace("name: kasm", "name: kasm-2")}`,
    "multiple-kasm-servers",
    10,
    7,
  ],
  ["memory in words", kasmBlock("memory: lots"), "invalid-quantity", 8, 13],
  ["memory in GB", kasmBlock("memory: 2GB"), "invalid-quantity", 8, 13],
  ["memory without unit", kasmBlock('memory: "2048"'), "invalid-quantity", 8, 13],
  ["memory as a number", kasmBlock("memory: 2048"), "wrong-type", 8, 13],
  ["no cores", kasmBlock("cores: 0"), "out-of-range", 8, 12],
  [
    "an image id with dashes",
    kasmBlock(`imageId: 3f2a9c0e-5b7d-4e1f-8a6b-2c3d4e5f6a7b`),
    "invalid-format",
    8,
    14,
  ],
  ["a category of two lines", kasmBlock('categories: ["Dev\\nOps"]'), "invalid-format", 8, 18],
  ["a run config as a string", kasmBlock("runConfig: '{}'"), "wrong-type", 8, 16],
  ["an unknown kasm field", kasmBlock("imageSrc: x.png"), "unknown-property", 8, 5],
  ["a session limit in words", kasmBlock("sessionTimeLimit: two hours"), "invalid-duration", 8, 23],
  ["a session limit under a second", kasmBlock("sessionTimeLimit: 1500ms"), "invalid-duration", 8, 23],
  ["a session limit as a number", kasmBlock("sessionTimeLimit: 3600"), "wrong-type", 8, 23],
  ["an s3 profile path without /", kasmBlock("persistentProfilePath: s3://b/p"), "invalid-value", 8, 28],
  ["a resolution without height", kasmBlock("resolution: {width: 1280}"), "missing-property", 8, 5],
  ["a zero resolution", kasmBlock("resolution: {width: 0, height: 720}"), "out-of-range", 8, 25],
  ["negative GPUs", kasmBlock("gpus: -1"), "out-of-range", 8, 11],
  ["an unknown CPU allocation", kasmBlock("cpuAllocationMethod: Quota"), "invalid-value", 8, 26],
  ["a network listed twice", kasmBlock("restrictNetworks: [a, a]"), "duplicate-item", 8, 27],
  ["another placement", kasmBlock("placement: zone"), "invalid-value", 8, 16],
  ["a launch config as a list", kasmBlock("launchConfig: []"), "wrong-type", 8, 19],
  [
    "two workspaces adopting one record",
    `${kasmBlock(`imageId: ${IMAGE_ID}`)}---\n${kasmBlock(`imageId: ${IMAGE_ID}`).replace("name: w", "name: v")}`,
    "duplicate-image-id",
    17,
    14,
  ],
];

const CYCLE = `${workspace("  promotion: {from: x}")}---\n${workspace("  promotion: {from: w}").replace("name: w", "name: x")}`;

describe("validation problems", () => {
  it.each(CASES)("%s → %s at %i:%i", (_name, text, code, line, col) => {
    const { problems } = check(text.replace(/^\s*\n/, ""));
    const mine = problems.filter((p) => p.file === "case.yaml");
    expect(mine.map((p) => ({ code: p.code, line: p.line, col: p.col, file: p.file }))).toEqual([
      { code, line, col, file: "case.yaml" },
    ]);
    expect(problems.filter((p) => p.file !== "case.yaml")).toEqual([]);
    expect(mine[0]!.message.length).toBeGreaterThan(15);
  });

  it("reports a promotion cycle once", () => {
    const { problems } = check(CYCLE);
    expect(problems.map((p) => [p.code, p.line])).toEqual([["promotion-cycle", 7]]);
    expect(problems[0]!.message).toContain("w → x → w");
  });

  it("every problem carries a position inside its file", () => {
    const texts = [...CASES.map((c) => c[1]), CYCLE];
    for (const text of texts) {
      for (const p of check(text).problems as Problem[]) {
        const lines = (p.file === "case.yaml" ? text : BASE).split("\n");
        expect(p.line, formatProblem(p)).toBeGreaterThanOrEqual(1);
        expect(p.line, formatProblem(p)).toBeLessThanOrEqual(lines.length);
        expect(p.col, formatProblem(p)).toBeGreaterThanOrEqual(1);
        expect(p.col, formatProblem(p)).toBeLessThanOrEqual(lines[p.line - 1]!.length + 1);
      }
    }
  });
});

describe("human wording", () => {
  it.each([
    [
      workspace("  frendlyName: Chrome"),
      /unknown property "frendlyName" in spec \(did you mean "friendlyName"\?\); allowed: friendlyName, image, registry/,
    ],
    [workspace('  enabled: "yes"'), /spec\.enabled must be true or false, got the string "yes"/],
    [workspace("  friendlyName: 1.10"), /must be a string, got the number 1\.1 \(quote it/],
    [
      registry("  auth: {username: u, password: hunter2}").replace("name: r", "name: corp-eu"),
      /write \{env: KASM_SECRET_CORP_EU_PASSWORD\}.*\{file: \/run\/secrets\/corp-eu-password\}/,
    ],
    [
      workspace().replace("registry: corp", "registry: crop"),
      /unknown registry "crop" \(did you mean "corp"\?\); defined: corp/,
    ],
    [
      "apiVersion: kasm-gitops/v1\nkind: Workspce\n",
      /got the string "Workspce" \(did you mean "Workspace"\?\)/,
    ],
    [
      workspace().replace("registry.example.com:5000/", "docker.io/"),
      /write registry\.example\.com:5000\/kasm\/chrome:1/,
    ],
    [registry("  insecure: maybe"), /spec\.insecure must be true or false, got the string "maybe"/],
    [workspace("  agents: {matchLabels: {ring: prod}}"), /no agent has the labels ring=prod/],
    [
      kasmServer().replace("{env: KASM_SECRET_KASM_API_KEY}", "abc123"),
      /spec\.apiKey holds a literal secret.*\{env: KASM_SECRET_KASM_API_KEY\}.*\{file: \/run\/secrets\/kasm-api-key\}/,
    ],
    [
      kasmServer("http://kasm.example.com:8443"),
      /plain http to kasm\.example\.com.*write https:\/\/kasm\.example\.com:8443 \(plain http is allowed only on a loopback host/,
    ],
    [
      kasmBlock("memory: lots"),
      /spec\.kasm\.memory "lots" is not a memory quantity: expected a number with a unit, e\.g\. 2768M/,
    ],
    [
      `${kasmBlock(`imageId: ${IMAGE_ID}`)}---\n${kasmBlock(`imageId: ${IMAGE_ID}`).replace("name: w", "name: v")}`,
      /already adopted by Workspace "w" at case\.yaml:8:14/,
    ],
  ])("%#: %s", (text, message) => {
    expect(
      check(text)
        .problems.map((p) => p.message)
        .join("\n"),
    ).toMatch(message);
  });

  it.each(["commit", "branch"])("accepts promotion.auto: %s from a workspace with smoke tests", (mode) => {
    const tested = workspace("  smoke: true").replace("name: w", "name: t");
    const text = `${kasmServer(undefined, "  smoke: {user: smoke}")}---\n${tested}---\n${workspace(`  promotion: {from: t, auto: ${mode}}`)}`;
    const { set, problems } = check(text);
    expect(problems).toEqual([]);
    expect(set.workspaces.find((w) => w.metadata.name === "w")!.spec.promotion).toEqual({
      from: "t",
      auto: mode,
    });
  });

  it("returns every valid document in the set, split by kind", () => {
    const { set, problems } = check(
      `${workspace()}---\n${workspace("  friendlyName: 7").replace("name: w", "name: v")}`,
    );
    expect(problems.map((p) => p.code)).toEqual(["wrong-type"]);
    expect(set.registries.map((r) => r.metadata.name)).toEqual(["corp"]);
    expect(set.agents.map((a) => a.metadata.name)).toEqual(["agent-1"]);
    expect(set.workspaces.map((w) => w.metadata.name)).toEqual(["chrome-testing", "w"]);
    expect(set.settings).toBeUndefined();
    expect(set.workspaces[1]!.source).toEqual({ file: "case.yaml", line: 1, col: 1 });
  });

  it.each([
    "http://127.0.0.1:8443",
    "http://127.8.9.10",
    "http://localhost:8080/kasm",
    "http://[::1]:8443",
    "https://kasm.example.com:8443/",
  ])("accepts the KasmServer URL %s", (url) => {
    const { set, problems } = check(
      kasmServer(url, "  tls: {ca: {file: /etc/kasm-ca.pem}}", "  pulls: kasm"),
    );
    expect(problems).toEqual([]);
    expect(set.kasmServer?.spec).toMatchObject({
      url,
      pulls: "kasm",
      apiKey: { env: "KASM_SECRET_KASM_API_KEY" },
    });
  });

  it("keeps a workspace's kasm block as written", () => {
    const { set, problems } = check(
      kasmBlock(
        `imageId: ${IMAGE_ID}`,
        "categories: [Browser, Dev]",
        "cores: 1.5",
        "memory: 512Mi",
        "runConfig: {hostname: kasm}",
      ),
    );
    expect(problems).toEqual([]);
    expect(set.workspaces.find((w) => w.metadata.name === "w")?.spec.kasm).toEqual({
      imageId: IMAGE_ID,
      categories: ["Browser", "Dev"],
      cores: 1.5,
      memory: "512Mi",
      runConfig: { hostname: "kasm" },
    });
  });
});
