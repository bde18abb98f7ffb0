import { describe, expect, it } from "vitest";
import { KasmGitopsError } from "../../core/errors.js";
import type { LocalCheckout } from "../../ports.js";
import { checkGitState, commitPromotion } from "./promote-commit.js";

type Fail = "commit" | "write" | "push" | undefined;

/** An in-memory checkout that records what was asked of git and fails the step it is told to. */
function fakeCheckout(fail: Fail, state: { dirty?: boolean; detached?: boolean; origin?: boolean } = {}) {
  const files = new Map([["/repo/m/w.yaml", "image: old\n"]]);
  const calls: string[] = [];
  let writes = 0;
  const boom = () => new KasmGitopsError("git-failed", "git said no");
  const checkout: LocalCheckout = {
    root: "/repo",
    changes: async () => (state.dirty ? [" M m/w.yaml"] : []),
    currentBranch: async () => (state.detached ? undefined : "main"),
    head: async () => "a".repeat(40),
    branchExists: async (name) => name === "taken",
    remoteUrl: async () => (state.origin === false ? undefined : "https://example.test/repo.git"),
    createBranch: async (name) => void calls.push(`branch ${name}`),
    dropBranch: async (name, previous) => void calls.push(`drop ${name} back to ${previous}`),
    readFile: async (path) => files.get(path)!,
    writeFile: async (path, text) => {
      if (fail === "write" && writes++ === 0) throw boom();
      files.set(path, text);
    },
    commitFile: async (path) => {
      if (fail === "commit") throw boom();
      calls.push(`commit ${path}`);
      return "c".repeat(40);
    },
    push: async (branch) => {
      if (fail === "push") throw boom();
      calls.push(`push ${branch}`);
    },
  };
  return { checkout, files, calls };
}

const edit = { path: "/repo/m/w.yaml", text: "image: new\n", message: { subject: "s", body: "b" } };

describe("commitPromotion", () => {
  it.each([
    [undefined, undefined, false, ["commit m/w.yaml"], "image: new\n"],
    [undefined, "promote/x", true, ["branch promote/x", "commit m/w.yaml", "push promote/x"], "image: new\n"],
    ["commit", undefined, false, [], "image: old\n"],
    ["commit", "promote/x", false, ["branch promote/x", "drop promote/x back to main"], "image: old\n"],
    ["write", "promote/x", false, ["branch promote/x", "drop promote/x back to main"], "image: old\n"],
  ] as const)("failing %s on branch %s (push %s)", async (fail, branch, push, calls, text) => {
    const fake = fakeCheckout(fail);
    const run = commitPromotion(fake.checkout, edit, {
      ...(branch ? { branch } : {}),
      push,
      previous: "main",
    });
    if (fail) await expect(run).rejects.toThrow("git said no");
    else expect(await run).toEqual({ commit: "c".repeat(40), branch: branch ?? "main" });
    expect(fake.calls).toEqual(calls);
    expect(fake.files.get(edit.path)).toBe(text);
  });

  it("keeps the commit when the push fails and says where it is", async () => {
    const fake = fakeCheckout("push");
    const run = commitPromotion(fake.checkout, edit, { branch: "promote/x", push: true, previous: "main" });
    await expect(run).rejects.toThrow(/git said no \(commit cccccccccccc is on local branch "promote\/x"/);
    expect(fake.files.get(edit.path)).toBe("image: new\n");
  });
});

describe("checkGitState", () => {
  it.each([
    [{ dirty: true }, {}, "dirty"],
    [{}, { branch: "taken" }, "branch-exists"],
    [{ detached: true }, {}, "detached"],
    [{ origin: false }, { branch: "promote/x", push: true }, "no-origin"],
  ])("%o with %o → %s", async (state, options, reason) => {
    const { checkout } = fakeCheckout(undefined, state);
    await expect(checkGitState(checkout, "/repo/m", { push: false, ...options })).rejects.toMatchObject({
      code: "git-failed",
      context: { reason },
    });
  });

  it.each([
    [{}, {}, "main"],
    [{ detached: true }, { branch: "promote/x" }, "a".repeat(40)],
  ])("%o with %o → commits after %s", async (state, options, previous) => {
    const { checkout } = fakeCheckout(undefined, state);
    expect(await checkGitState(checkout, "/repo/m", { push: false, ...options })).toBe(previous);
  });
});
