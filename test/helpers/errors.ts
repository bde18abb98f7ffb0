import { expect } from "vitest";
import { type ErrorCode, KasmGitopsError } from "../../src/core/errors.js";

/**
 * Awaits `promise`, which must reject with a KasmGitopsError (of `code` when given), and returns that error,
 * its context typed for that code, for further checks.
 */
export async function failure<C extends ErrorCode = ErrorCode>(
  promise: Promise<unknown>,
  code?: C,
): Promise<KasmGitopsError<C>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KasmGitopsError);
  if (code !== undefined) expect((error as KasmGitopsError).code).toBe(code);
  return error as KasmGitopsError<C>;
}
