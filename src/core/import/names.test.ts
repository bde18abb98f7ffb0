import { describe, expect, it } from "vitest";
import { dnsLabel, secretEnvName, uniqueNames } from "./names.js";

describe("dnsLabel", () => {
  it.each([
    ["Chrome", "chrome"],
    ["Chrome (testing)", "chrome-testing"],
    ["  Visual Studio Code  ", "visual-studio-code"],
    ["Éditeur de texte à l'école", "editeur-de-texte-a-l-ecole"],
    ["Straße über Ölberg", "stra-e-uber-olberg"], // ß has no NFKD decomposition,
    ["ｆｕｌｌ　ｗｉｄｔｈ", "full-width"],
    ["C++ / C# IDE!!", "c-c-ide"],
    ["日本語", ""],
    ["---", ""],
    ["x".repeat(70), "x".repeat(63)],
    [`${"a".repeat(62)} b`, "a".repeat(62)],
  ])("%j → %j", (text, label) => {
    expect(dnsLabel(text)).toBe(label);
  });
});

describe("uniqueNames", () => {
  it.each([
    [
      ["chrome", "firefox"],
      ["chrome", "firefox"],
    ],
    [
      ["chrome", "chrome", "chrome"],
      ["chrome", "chrome-2", "chrome-3"],
    ],
    [
      ["chrome-2", "chrome", "chrome"],
      ["chrome-2", "chrome", "chrome-3"],
    ],
    [
      ["", ""],
      ["workspace", "workspace-2"],
    ],
    [
      ["x".repeat(63), "x".repeat(63)],
      ["x".repeat(63), `${"x".repeat(61)}-2`],
    ],
  ])("%j → %j", (wishes, names) => {
    expect(uniqueNames(wishes, "workspace")).toEqual(names);
  });
});

describe("secretEnvName", () => {
  it.each([
    ["corp", "PASSWORD", "KASM_SECRET_CORP_PASSWORD"],
    ["registry-example-com-5000", "PASSWORD", "KASM_SECRET_REGISTRY_EXAMPLE_COM_5000_PASSWORD"],
  ])("%s %s → %s", (name, part, env) => {
    expect(secretEnvName(name, part)).toBe(env);
  });
});
