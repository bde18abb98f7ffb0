/**
 * Layers point one way: every import of every file in src/ is checked against a table of rules, so an
 * upward import fails here with the file and the import that broke the rule. The layers: core → ports →
 * adapters, engine, http → app → cli; lab and bench are development tools on top that nothing else imports.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(SRC);

/**
 * A file's layer: its first folder under src/ (`core`, `engine`, …), the file name for top-level files
 * (`ports`, `app`, `index`), or `test` for the repository's test/ folder.
 */
function layerOf(path: string): string {
  const [first = "", ...rest] = path.split("/");
  return rest.length === 0 ? first.replace(/\.[jt]s$/, "") : first;
}

/** What each layer must not import. Lab and bench are development tools: only they import each other. */
const RULES: { layer: string; forbidden: string[]; why: string }[] = [
  {
    layer: "core",
    forbidden: ["ports", "adapters", "engine", "http", "cli", "app", "index", "lab", "bench"],
    why: "the core is pure: data in, data out",
  },
  {
    layer: "ports",
    forbidden: ["adapters", "engine", "http", "cli", "app", "index", "lab", "bench"],
    why: "ports are the interfaces both sides share, so they sit just above the core",
  },
  {
    layer: "adapters",
    forbidden: ["engine", "http", "cli", "app", "index", "lab", "bench"],
    why: "adapters implement ports and know nothing of who calls them",
  },
  {
    layer: "engine",
    forbidden: ["adapters", "http", "cli", "app", "index", "lab", "bench"],
    why: "the engine reaches the outside world only through ports that app.ts injects",
  },
  {
    layer: "http",
    forbidden: ["adapters", "engine", "cli", "app", "index", "lab", "bench"],
    why: "the status server shares types with the engine through ports, not by importing it",
  },
  {
    layer: "app",
    forbidden: ["http", "cli", "index", "lab", "bench"],
    why: "app.ts wires adapters into the engine and nothing above it",
  },
  {
    layer: "cli",
    forbidden: ["adapters", "index", "lab", "bench"],
    why: "commands reach adapters only through app.ts",
  },
  {
    layer: "index",
    forbidden: ["adapters", "engine", "http", "cli", "app", "lab", "bench"],
    why: "the public API is the pure planner",
  },
];

/** Test-only code (test/) may be imported by tests, never by what ships. */
const SHIPPED_MUST_NOT_IMPORT = ["test"];

type Violation = { file: string; import: string; rule: string };

/** Module specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** Every rule a file breaks; `files` are paths relative to the repository root (`src/core/plan.ts`). */
function violations(files: { path: string; text: string }[]): Violation[] {
  const result: Violation[] = [];
  for (const { path, text } of files) {
    const inSrc = path.slice("src/".length);
    const layer = layerOf(inSrc);
    const isTest = path.endsWith(".test.ts");
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith(".")) continue;
      const target = posix.normalize(posix.join(posix.dirname(path), specifier));
      const targetLayer = target.startsWith("src/") ? layerOf(target.slice("src/".length)) : layerOf(target);
      if (targetLayer === layer) continue;
      const rule = RULES.find((r) => r.layer === layer);
      if (rule?.forbidden.includes(targetLayer)) {
        result.push({
          file: path,
          import: specifier,
          rule: `${layer} must not import ${targetLayer}: ${rule.why}`,
        });
      } else if (!isTest && SHIPPED_MUST_NOT_IMPORT.includes(targetLayer)) {
        result.push({ file: path, import: specifier, rule: `only tests import test/ helpers` });
      }
    }
  }
  return result;
}

function sourceFiles(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(".ts"))
    .sort()
    .map((file) => ({
      path: relative(ROOT, join(dir, file)).split("\\").join("/"),
      text: readFileSync(join(dir, file), "utf8"),
    }));
}

describe("import direction", () => {
  it.each([
    ["src/core/plan.ts", 'import { x } from "../adapters/clock.js";', "core must not import adapters"],
    ["src/core/plan.ts", 'import type { Clock } from "../ports.js";', "core must not import ports"],
    ["src/core/plan.ts", 'export { run } from "../engine/cycle.js";', "core must not import engine"],
    [
      "src/engine/daemon.ts",
      'import type { Metrics } from "../http/metrics.js";',
      "engine must not import http",
    ],
    [
      "src/engine/promote.ts",
      'import { openCheckout } from "../adapters/git-checkout.js";',
      "engine must not import adapters",
    ],
    [
      "src/http/metrics.ts",
      'import type { CycleResult } from "../engine/status.js";',
      "http must not import engine",
    ],
    ["src/adapters/x.ts", 'const m = await import("../cli/main.js");', "adapters must not import cli"],
    ["src/cli/plan-command.ts", 'import "../adapters/logger.js";', "cli must not import adapters"],
    ["src/cli/main.ts", 'import { up } from "../lab/lab.js";', "cli must not import lab"],
    ["src/app.ts", 'import { fleet } from "./bench/lab-fleet.js";', "app must not import bench"],
    ["src/index.ts", 'export { createDeps } from "./app.js";', "index must not import app"],
    ["src/core/load.ts", 'import { x } from "../../test/helpers/manifests.js";', "only tests import test/"],
  ])("%s: %s is reported (%s)", (path, line, rule) => {
    expect(violations([{ path, text: `${line}\n` }])).toEqual([
      { file: path, import: importsOf(line)[0], rule: expect.stringContaining(rule) },
    ]);
  });

  it.each([
    ["src/core/plan.ts", 'import { parse } from "yaml";\nimport { a } from "./desired.js";'],
    [
      "src/engine/cycle.ts",
      'import type { Clock } from "../ports.js";\nimport { b } from "../core/plan.js";',
    ],
    [
      "src/cli/run-command.ts",
      'import { createLogger } from "../app.js";\nimport { c } from "../http/server.js";',
    ],
    ["src/bench/core-inputs.ts", 'import { fleetYaml } from "../lab/fleet-yaml.js";'],
    ["src/core/plan.test.ts", 'import { agent } from "../../test/helpers/manifests.js";'],
  ])("%s may import what it does", (path, text) => {
    expect(violations([{ path, text }])).toEqual([]);
  });

  it("holds for every file in src/", () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });
});
