import { expect } from "vitest";
import { KasmGitopsError } from "../../src/core/errors.js";

/** Awaits `promise`, which must reject with a KasmGitopsError, and returns that error for further checks. */
export async function failure(promise: Promise<unknown>): Promise<KasmGitopsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KasmGitopsError);
  return error as KasmGitopsError;
}
