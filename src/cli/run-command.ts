import { readFile } from "node:fs/promises";
import { CronPattern } from "croner";
import {
  createAutoPromotionsFile,
  createNotifierFor,
  createRevisionStore,
  redact,
  type StateWarning,
} from "../app.js";
import { KasmGitopsError } from "../core/errors.js";
import { refreshFrequencyProblem } from "../core/manifest/refresh-frequency.js";
import type { ReconcileDeps } from "../engine/cycle.js";
import { createDaemon } from "../engine/daemon.js";
import { loadSnapshot } from "../engine/snapshot.js";
import { updaterReports } from "../engine/update/automation-report.js";
import { createUpdater } from "../engine/update/updater.js";
import { createMetrics } from "../http/metrics.js";
import { type StatusServer, startStatusServer } from "../http/server.js";
import { GLOBAL_OPTIONS, KASM_OPTIONS, REPO_OPTIONS, TRUST_OPTIONS } from "./args.js";
import { AUTOMATION_OPTIONS, automationFlags, manifestPath, writerFor } from "./automation-flags.js";
import type { Command, CommandContext } from "./command.js";
import { durationFlag, type RepoFlags, repoFlags } from "./flags.js";
import type { CliIo } from "./io.js";
import { checkAgentNames, checkTrustedKeys, cliLogger, depsFor, locked } from "./session.js";

/** `--refresh`, refused when it is no cron or would refresh more than once a minute; warned under 5 minutes. */
function refreshFlag(value: unknown, now: Date, warn: (message: string) => void): string | undefined {
  if (value === undefined) return undefined;
  const expression = String(value);
  try {
    new CronPattern(expression);
  } catch (error) {
    throw new KasmGitopsError(
      "usage",
      `--refresh "${expression}" is not a cron expression (e.g. "0 * * * *" = hourly)`,
      {},
      {
        cause: error,
      },
    );
  }
  const problem = refreshFrequencyProblem(expression, now);
  if (problem?.severity === "error") throw new KasmGitopsError("usage", `--refresh: ${problem.message}`);
  if (problem) warn(`--refresh: ${problem.message}`);
  return expression;
}

/** The webhook secret, from a file (preferred: Docker secrets) or KASM_GITOPS_WEBHOOK_SECRET. */
async function webhookSecret(
  file: unknown,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (typeof file === "string") return (await readFile(file, "utf8")).replace(/\r?\n$/, "");
  return env.KASM_GITOPS_WEBHOOK_SECRET || undefined;
}

/**
 * `--agent` (or KASM_GITOPS_AGENT) names the branch tip does not define are a usage error at start, like
 * plan and apply. A tip that cannot be read or is refused is left to the daemon (last good revision, degraded).
 */
async function checkStartAgents(flags: RepoFlags, deps: ReconcileDeps, io: CliIo): Promise<void> {
  if (flags.agents.length === 0) return;
  const snapshot = await loadSnapshot(deps, io.stopSignal).catch(() => undefined);
  if (snapshot) checkAgentNames(flags, snapshot);
}

/** `kasm-gitops run`: the daemon, until SIGTERM/SIGINT; then it drains and exits 0. */
export async function runCommand({ args, io }: CommandContext): Promise<number> {
  const flags = repoFlags(args, io);
  const logger = cliLogger(flags, io);
  const metrics = createMetrics();
  const onStateWarning = ({ file, movedTo, message }: StateWarning) =>
    logger.warn({ file, ...(movedTo ? { movedTo } : {}) }, message);
  const deps = depsFor(flags, io, {
    debugLog: logger,
    onRegistryRequest: ({ host, method, status }) =>
      metrics.registryRequest(host, method, status === 0 ? "error" : status),
    onStateWarning,
  });
  const trusted = await checkTrustedKeys(deps, io);
  await checkStartAgents(flags, deps, io);
  if (flags.verifyCommits) {
    logger.info(
      { mode: flags.verifyCommits.mode, file: flags.verifyCommits.file, keys: trusted },
      "only revisions signed by these keys are used",
    );
  }
  const intervalMs = durationFlag("interval", args.values.interval);
  const graceMs = durationFlag("grace", args.values.grace) ?? 60_000;
  const refreshCron = refreshFlag(args.values.refresh, new Date(), (message) => logger.warn({}, message));
  const notifier = createNotifierFor(io.env, flags.secrets, logger, metrics);
  const automation = automationFlags(args, io);
  const updater = createUpdater(
    {
      ...deps,
      writer: writerFor(flags, automation, io),
      autoPromotions: createAutoPromotionsFile(flags.stateDir),
    },
    {
      branch: flags.branch,
      path: manifestPath(flags),
      sign: automation.sign,
      ...(flags.kasmOnly ? { kasmOnly: true } : {}),
      ...(refreshCron ? { refreshCron } : {}),
      // Each pass goes to the log, and to /status, the metrics and the Notifications of the revision in force.
      ...updaterReports(logger, {
        record: (event) => daemon.record(event),
        status: () => daemon.status(),
        metrics,
        notify: (event) => daemon.notify(event),
        clock: deps.clock,
        branch: flags.branch,
      }),
      onPushed: () => daemon.request("webhook"),
    },
  );
  const daemon = createDaemon(
    {
      ...deps,
      store: createRevisionStore(flags.stateDir, { onWarning: onStateWarning }),
      metrics,
      logger,
      notifier,
      // One writer to Git, as one writer to Kasm: pullers (--agent, one per node) never author updates.
      ...(flags.agents.length ? {} : { updater }),
    },
    {
      branch: flags.branch,
      ...(intervalMs ? { intervalMs } : {}),
      ...(refreshCron ? { refreshCron } : {}),
      ...(flags.agents.length ? { onlyAgents: flags.agents } : {}),
      ...(flags.kasmOnly ? { kasmOnly: flags.kasmOnly } : {}),
      graceMs,
    },
  );
  let server: StatusServer | undefined;
  if (args.values.listen) {
    const secret = await webhookSecret(args.values["webhook-secret-file"], io.env);
    const token = (args.values["status-token"] as string | undefined) || undefined;
    server = await startStatusServer({
      listen: args.values.listen as string,
      status: daemon.status,
      page: daemon.status,
      ...(token ? { token } : {}),
      ready: () => daemon.status().ready,
      metrics,
      logger,
      ...(secret
        ? { webhook: { secret, branch: flags.branch, onPush: () => daemon.request("webhook") } }
        : {}),
    });
    // /hooks/git answers 404 without a secret, so it is announced only when it is served.
    const paths = [
      "/",
      "/events",
      "/healthz",
      "/readyz",
      "/metrics",
      "/status",
      ...(secret ? ["/hooks/git"] : []),
    ];
    logger.info(
      { url: server.url, paths, statusToken: token !== undefined },
      `serving ${paths.join(", ")}${token ? " (/, /status and /events need the status token)" : ""}`,
    );
  }
  logger.info(
    {
      repo: redact(flags.repo),
      branch: flags.branch,
      role: flags.kasmOnly ? "kasm-syncer" : flags.agents.length ? "puller" : "reconciler",
    },
    "kasm-gitops started",
  );
  daemon.start();
  await new Promise<void>((resolve) => {
    if (!io.stopSignal || io.stopSignal.aborted) return resolve();
    io.stopSignal.addEventListener("abort", () => resolve(), { once: true });
  });
  logger.info({ graceMs }, "stopping: no new pulls; in-flight pulls may finish");
  await daemon.stop();
  // Messages already queued (a last rollout or refusal) get a few seconds, never longer.
  await notifier.drain(5000);
  notifier.close();
  await server?.close();
  logger.info({}, "stopped");
  return 0;
}

/** `kasm-gitops run`: its options, declared beside the code that reads them. */
export const runEntry: Command = {
  name: "run",
  summary: "run the reconciler as a daemon",
  usage: "kasm-gitops run --repo URL|PATH [--listen HOST:PORT]",
  options: {
    ...REPO_OPTIONS,
    ...KASM_OPTIONS,
    ...TRUST_OPTIONS,
    ...AUTOMATION_OPTIONS,
    interval: {
      type: "string",
      value: "DURATION",
      description: "git check-in and missing-image pulls (default: 30s)",
    },
    refresh: {
      type: "string",
      value: "CRON",
      description: "re-check tags for new digests (default: 0 * * * *)",
    },
    listen: {
      type: "string",
      value: "HOST:PORT",
      description: "serve the status page /, /healthz, /readyz, /metrics, /status, /hooks/git",
    },
    "status-token": {
      type: "string",
      value: "TOKEN",
      description:
        "require this token (bearer or ?token=) on /, /status and /events; prefer KASM_GITOPS_STATUS_TOKEN",
    },
    "webhook-secret-file": {
      type: "string",
      value: "FILE",
      description: "secret for POST /hooks/git signatures (or KASM_GITOPS_WEBHOOK_SECRET)",
    },
    grace: {
      type: "string",
      value: "DURATION",
      description: "on SIGTERM, how long in-flight pulls may finish (default: 60s)",
    },
    ...GLOBAL_OPTIONS,
  },
  run: locked("run", runCommand),
};
