// A local webhook receiver that verifies Standard Webhooks signatures with the
// reference `standardwebhooks` package, rejects stale timestamps, counts
// duplicate webhook-ids as replays, and can fail on purpose to exercise retries.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

export interface SinkOptions {
  port: number;
  host?: string;
  /** `whsec_…` secret(s) to verify with; none means signatures are not checked. */
  secrets: string[];
  /** Timestamps further than this from now are rejected (the mesh's replay window). */
  toleranceSeconds: number;
  /** Fraction of deliveries answered with `failStatus` instead of 204. */
  failRate: number;
  /** Status of deliberate failures (and of every delivery when failRate is 1). */
  failStatus: number;
  /** Delay before answering, to exercise timeouts. */
  delayMs: number;
}

export interface ReceivedDelivery {
  id: string;
  timestamp: number;
  /** The webhook-signature header as received, so a test can re-send a tampered copy. */
  signature: string;
  receivedAt: string;
  verified: boolean;
  status: number;
  payload: unknown;
}

export interface SinkCounters {
  received: number;
  accepted: number;
  rejected: number;
  replays: number;
  failedOnPurpose: number;
}

export interface Sink {
  url: string;
  deliveries: ReceivedDelivery[];
  counters: SinkCounters;
  close(): Promise<void>;
}

const maxBody = 1024 * 1024;

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startSink(options: SinkOptions): Promise<Sink> {
  let secrets = [...options.secrets];
  const deliveries: ReceivedDelivery[] = [];
  const seen = new Set<string>();
  const counters: SinkCounters = { received: 0, accepted: 0, rejected: 0, replays: 0, failedOnPurpose: 0 };

  const verify = (body: Buffer, headers: Record<string, string>): string | undefined => {
    if (secrets.length === 0) return undefined;
    const timestamp = Number(headers["webhook-timestamp"]);
    if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > options.toleranceSeconds) {
      return "timestamp outside the replay window";
    }
    for (const secret of secrets) {
      try {
        new Webhook(secret).verify(body, headers);
        return undefined;
      } catch (err) {
        if (!(err instanceof WebhookVerificationError)) throw err;
      }
    }
    return "signature does not verify";
  };

  const onWebhook = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: "body too large" });
    counters.received++;
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const problem = verify(body, headers);
    if (problem) {
      counters.rejected++;
      return send(res, 401, { error: problem });
    }
    if (options.delayMs > 0) await new Promise((r) => setTimeout(r, options.delayMs));
    if (Math.random() < options.failRate) {
      counters.failedOnPurpose++;
      return send(res, options.failStatus, { error: "failing on purpose" });
    }
    // A redelivery of an id already accepted is acknowledged but not logged again.
    if (seen.has(headers["webhook-id"])) {
      counters.replays++;
      return send(res, 200, { duplicate: true });
    }
    seen.add(headers["webhook-id"]);
    counters.accepted++;
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString("utf8"));
    } catch {
      payload = body.toString("utf8");
    }
    deliveries.push({
      id: headers["webhook-id"],
      timestamp: Number(headers["webhook-timestamp"]),
      signature: headers["webhook-signature"],
      receivedAt: new Date().toISOString(),
      verified: secrets.length > 0,
      status: 204,
      payload,
    });
    send(res, 204);
  };

  const server = http.createServer((req, res) => {
    const path = req.url?.split("?")[0];
    const route = `${req.method} ${path}`;
    const fail = (err: unknown) => send(res, 500, { error: String(err) });
    switch (route) {
      case "GET /":
        return send(res, 200, { status: "ok", counters });
      case "POST /webhook":
        return void onWebhook(req, res).catch(fail);
      case "GET /deliveries":
        return send(res, 200, { deliveries, counters });
      case "DELETE /deliveries":
        deliveries.length = 0;
        seen.clear();
        Object.assign(counters, { received: 0, accepted: 0, rejected: 0, replays: 0, failedOnPurpose: 0 });
        return send(res, 204);
      case "PUT /secrets":
        // Lets a smoke test hand over the secret it was just shown.
        return void readBody(req)
          .then((body) => {
            const parsed = JSON.parse(body?.toString("utf8") ?? "{}") as { secrets?: unknown };
            if (!Array.isArray(parsed.secrets) || !parsed.secrets.every((s) => typeof s === "string" && s.startsWith("whsec_"))) {
              return send(res, 400, { error: 'expected {"secrets": ["whsec_…"]}' });
            }
            secrets = parsed.secrets as string[];
            send(res, 204);
          })
          .catch(() => send(res, 400, { error: "malformed JSON" }));
      default:
        return send(res, 404, { error: `no route ${route}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    counters,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
