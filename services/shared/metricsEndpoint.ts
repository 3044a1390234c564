// Prometheus exposition. Internal processes serve /metrics on their own port;
// the gateway's port is public, so there it needs the admin key. With
// ONERING_METRICS_PORT set, a second listener that only the cluster reaches
// (NetworkPolicy) serves /metrics to the scraper with no credentials.
import http from "node:http";
import type net from "node:net";
import type { Registry } from "prom-client";
import { meshError } from "./errors.js";
import { bearerToken, secretsEqual } from "./internalAuth.js";
import { acceptRequestId, requestIdHeader } from "./requestId.js";
import type { AnyRequest, AnyResponse } from "./server.js";
import { errorResponse } from "./transcoding/errorResponse.js";

/** Answers GET /metrics; with `key`, only to a request bearing it. */
export function metricsResponder(registry: Registry, key?: string): (req: AnyRequest, res: AnyResponse) => void {
  return (req, res) => {
    if (key !== undefined) {
      const token = bearerToken(req.headers.authorization);
      if (token === undefined || !secretsEqual(token, key)) return refuse(req, res);
    }
    void registry.metrics().then((text) => {
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(text);
    });
  };
}

function refuse(req: AnyRequest, res: AnyResponse): void {
  const error = meshError("UNAUTHENTICATED", "/metrics on this port needs the admin key (or scrape ONERING_METRICS_PORT)");
  const { status, body } = errorResponse(error, acceptRequestId(req.headers[requestIdHeader]));
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload), "www-authenticate": "Bearer" });
  res.end(payload);
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

/** A listener that serves only GET /metrics, open to whoever reaches the port. */
export async function listenForMetrics(options: { host: string; port: number; headersTimeoutMs: number; registry: Registry }): Promise<MetricsListener> {
  const respond = metricsResponder(options.registry);
  const server = http.createServer({ headersTimeout: options.headersTimeoutMs }, (req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") return respond(req, res);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("only GET /metrics is served on this port\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
