/** HTTPS in front of a plain-HTTP lab service (the Kasm stand-in), with a certificate of the lab's own CA. */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { makeCertificates } from "./certificates.js";

export type TlsFront = { url: string; ca: string; close(): Promise<void> };

/** Makes the CA and server certificate in `dir` (ca.pem is the CA to trust) and forwards every request. */
export async function startTlsFront(upstream: string, dir: string): Promise<TlsFront> {
  await makeCertificates(dir);
  const [cert, key] = await Promise.all([
    readFile(join(dir, "server.pem")),
    readFile(join(dir, "server-key.pem")),
  ]);
  const server = createHttpsServer({ cert, key }, (req, res) => {
    const forwarded = httpRequest(
      `${upstream}${req.url}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: join(dir, "ca.pem"),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
