// The servers of the transcoding section, run as one process of their own:
// the same GatewayService.GetWebhook implementation behind the REST
// transcoder, behind Connect's node adapter, and hand-written on bare
// node:http, each on its own port. Only one is loaded at a time.
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import http from "node:http";
import { GatewayService } from "../gen/onering/v1/gateway_pb.js";
import { createLogger } from "../services/shared/logger.js";
import { createTranscoder } from "../services/shared/transcoding/transcoder.js";
import { implementation } from "../services/shared/implementation.js";
import { listenLocal } from "./childServer.js";

const impl: Partial<ServiceImpl<typeof GatewayService>> = {
  getWebhook: (req) => ({ webhook: { id: req.id, url: "https://example.com/hook", eventTypes: ["invoice.*"], enabled: true } }),
};

const rest = createTranscoder({ services: [implementation(GatewayService, impl)], maxBodyBytes: 1 << 20, logger: createLogger("bench", "silent") });
const connect = connectNodeAdapter({ routes: (router) => router.service(GatewayService, impl) });

// The floor: the same answer, hand-routed and hand-encoded, no framework at all.
const bare = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const match = /^\/v1\/external\/webhooks\/([^/?]+)$/.exec(req.url ?? "");
  if (req.method !== "GET" || !match) {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.stringify({ webhook: { id: decodeURIComponent(match[1]), url: "https://example.com/hook", event_types: ["invoice.*"], enabled: true } });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
};

const server = (handler: http.RequestListener) => http.createServer({ keepAliveTimeout: 65_000 }, handler);
console.log(
  JSON.stringify({
    rest: await listenLocal(server((req, res) => void rest.handle(req, res))),
    connect: await listenLocal(server(connect)),
    bare: await listenLocal(server(bare)),
  }),
);
