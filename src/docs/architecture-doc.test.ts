import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);

/**
 * The ports: every interface `src/ports.ts` exports, and every exported type that carries behaviour (a
 * method or a function); the plain data types beside them are not ports.
 */
function portsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const parts = code.split(/\n(?=export )/);
  return parts.flatMap((part) => {
    const head = /^export (interface|type) (\w+)/.exec(part);
    if (!head) return [];
    const behaves = head[1] === "interface" || /\w\s*\(|\)\s*=>/.test(part.slice(head[0].length));
    return behaves ? [head[2]!] : [];
  });
}

describe("docs/architecture.md", () => {
  const ports = portsOf(readFileSync(new URL("src/ports.ts", root), "utf8"));
  const doc = readFileSync(new URL("docs/architecture.md", root), "utf8");
  const table = doc.slice(doc.indexOf("## Ports"), doc.indexOf("\n## ", doc.indexOf("## Ports") + 1));

  it("finds the ports", () => {
    expect(ports).toEqual(expect.arrayContaining(["GitSource", "KasmApi", "Metrics", "NotificationSender"]));
    expect(ports).not.toContain("Credentials");
  });

  it.each(ports)("lists port %s in its Ports table", (port) => {
    expect(table).toContain(`| \`${port}\` |`);
  });
});
