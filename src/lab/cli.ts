#!/usr/bin/env node
import { defaultLabDir, startLab, stopLab } from "./lab.js";

/** `npm run lab -- up|down`: keeps the test lab running between test runs (the tests reuse it). */
const dir = defaultLabDir();
const action = process.argv[2] ?? "up";
if (action === "up") {
  const { lab } = await startLab({ dir, log: (line) => process.stderr.write(`[lab] ${line}\n`) });
  process.stdout.write(`${JSON.stringify(lab, null, 2)}\n`);
} else if (action === "down") {
  await stopLab(dir);
  process.stderr.write(`[lab] stopped services recorded in ${dir}\n`);
} else {
  process.stderr.write("usage: npm run lab -- up|down\n");
  process.exitCode = 1;
}
