import { KasmGitopsError } from "../core/errors.js";
import type { NotificationSender } from "../ports.js";

/** POSTs JSON with fetch; the error names the HTTP status only, never the URL (it is a secret). */
export const sendNotification: NotificationSender = async (url, body, signal) => {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "kasm-gitops" },
      body: JSON.stringify(body),
      signal,
      redirect: "error",
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const why = signal.aborted ? "no answer in time" : (cause ?? (error as Error).name);
    throw new KasmGitopsError("notification-failed", `notification endpoint unreachable: ${why}`);
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok)
    throw new KasmGitopsError(
      "notification-failed",
      `notification endpoint answered HTTP ${response.status}`,
    );
};
