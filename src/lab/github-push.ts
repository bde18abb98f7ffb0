import { createHmac } from "node:crypto";

/** POSTs a push event for `branch` signed the way GitHub signs it; resolves with the HTTP status. */
export async function postGithubPush(
  hookUrl: string,
  secret: string,
  branch: string,
  revision = "0".repeat(40),
): Promise<number> {
  const body = JSON.stringify({ ref: `refs/heads/${branch}`, after: revision });
  const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const response = await fetch(hookUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-hub-signature-256": signature,
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}
