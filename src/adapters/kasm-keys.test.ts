import { describe, expect, it } from "vitest";
import { KASM_FACTS } from "../../test/helpers/kasm-facts.js";
import { KASM_IGNORES } from "../core/kasm/types.js";
import {
  FIELD_KEYS,
  IMAGE_WRITE_KEYS,
  isWriteKey,
  JSON_TEXT_KEYS,
  MASKED_TOKEN,
  NEWLINE_LIST_KEYS,
  NUMBER_KEYS,
  SERVER_KEYS,
  ZONE_KEYS,
} from "./kasm-keys.js";

/** The client's key lists agree with the facts of Kasm 1.15 that the stand-in's tests check too. */
describe("Kasm's key lists, against the facts of Kasm 1.15", () => {
  const facts = KASM_FACTS.image;

  it("writes exactly the parameters of Kasm's write function", () => {
    expect([...IMAGE_WRITE_KEYS].sort()).toEqual([...facts.writeKeys].sort());
  });

  it.each(facts.rejectedWriteKeys)("never writes %s, which Kasm answers with an HTML 500", (key) => {
    expect(isWriteKey(key)).toBe(false);
  });

  it.each(Object.entries(FIELD_KEYS))("owned field %s is written as %s, a write key", (_field, key) => {
    expect(facts.writeKeys).toContain(key);
    expect(facts.readKeys).toContain(key);
  });

  it("encodes as Kasm wants: JSON text, newline-joined lists, numbers", () => {
    expect([...JSON_TEXT_KEYS].sort()).toEqual([...facts.jsonStringKeys].sort());
    expect([...NEWLINE_LIST_KEYS]).toEqual(facts.newlineJoinedKeys);
    expect([...NUMBER_KEYS].sort()).toEqual([...facts.numberKeys].sort());
    expect(MASKED_TOKEN).toBe(facts.maskedToken);
  });

  it("the planner knows every value Kasm ignores on update in the fields it owns", () => {
    const owned = new Set<string>(Object.values(FIELD_KEYS));
    const ignoredOwned = Object.fromEntries(
      Object.entries(facts.ignoredValues).filter(([key]) => owned.has(key)),
    );
    const planned = Object.fromEntries(
      Object.entries(KASM_IGNORES).map(([field, value]) => [
        FIELD_KEYS[field as keyof typeof FIELD_KEYS],
        [value],
      ]),
    );
    expect(planned).toEqual(ignoredOwned);
  });
});

describe("Kasm's agent and zone keys, against the facts of Kasm 1.15", () => {
  it.each(Object.entries(SERVER_KEYS).filter(([name]) => !name.startsWith("image")))(
    "reads an agent's %s as %s, a key get_servers lists",
    (_name, key) => {
      expect(KASM_FACTS.servers.keys).toContain(key);
    },
  );
  it("reads a reported image's tags and repo digests by the keys of an agent's docker_images entry", () => {
    const { tagsKey, digestsKey } = KASM_FACTS.servers.reportedImage;
    expect([SERVER_KEYS.imageTags, SERVER_KEYS.imageDigests]).toEqual([tagsKey, digestsKey]);
  });
  it("reads a zone by its id and name", () => {
    expect(Object.values(ZONE_KEYS).sort()).toEqual([...KASM_FACTS.servers.zoneKeys].sort());
  });
});
