import type { TestProject } from "vitest/node";
import { defaultLabDir, type Lab, startLab } from "../src/lab/lab.js";

declare module "vitest" {
  export interface ProvidedContext {
    lab: Lab;
  }
}

/** Lab folder shared by test runs; short because unix socket paths are limited to 108 bytes. */
export const LAB_DIR = defaultLabDir();

/** Brings up real engines and registries for the integration project, and stops what it started. */
export default async function setup(project: TestProject) {
  const started = Date.now();
  let handle: Awaited<ReturnType<typeof startLab>>;
  try {
    handle = await startLab({ dir: LAB_DIR, engines: 2, log: (line) => console.error(`[lab] ${line}`) });
  } catch (error) {
    // Never degrade to skipped tests: without real services the integration suite cannot say anything.
    throw new Error(
      `the test lab did not start${process.env.CI ? " (CI is set)" : ""}: ${(error as Error).message}`,
    );
  }
  console.error(`[lab] ready in ${Date.now() - started} ms at ${LAB_DIR}`);
  project.provide("lab", handle.lab);
  return async () => {
    await handle.stop();
  };
}
