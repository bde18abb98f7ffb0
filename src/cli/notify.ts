import { systemClock } from "../adapters/clock.js";
import { sendNotification } from "../adapters/notify-http.js";
import { resolveSecret } from "../adapters/secrets.js";
import { createNotifier, type Notifier } from "../engine/notifier.js";
import type { Metrics } from "../http/metrics.js";
import type { CliIo } from "./io.js";

type Log = { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };

/** The real notifier: fetch, secrets read at send time, attempts counted in metrics when there are any. */
export function createNotifierFor(io: CliIo, logger: Log, metrics?: Pick<Metrics, "notification">): Notifier {
  return createNotifier({
    send: sendNotification,
    resolveUrl: (target) => resolveSecret(target.spec.url, io.env),
    clock: systemClock,
    logger,
    ...(metrics ? { count: (name, type, result) => metrics.notification(name, type, result) } : {}),
  });
}
