// The servers of the gRPC unary section, run as one process of their own: the
// same KeyService.VerifyKey implementation behind the mesh's serve() (the
// unary fast path) and behind Connect's node adapter alone, each on its own
// port and each with the mesh's metrics interceptor. Only one is loaded at a time.
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { KeyService } from "../gen/onering/v1/key_pb.js";
import { implementation } from "../services/shared/implementation.js";
import { createLogger } from "../services/shared/logger.js";
import { ProcessMetrics } from "../services/shared/metrics.js";
import { serve } from "../services/shared/server.js";

const impl: Partial<ServiceImpl<typeof KeyService>> = {
  verifyKey: (req) => ({ key: { id: `key_${req.secret.length}`, name: "bench", tier: "enterprise", prefix: req.secret.slice(0, 10), rateLimitPerHour: 10_000n } }),
};
const metrics = new ProcessMetrics("bench-grpc");

const mesh = await serve({
  processName: "bench-grpc",
  config: { host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20 },
  logger: createLogger("bench-grpc", "silent"),
  metrics,
  implementations: [implementation(KeyService, impl)],
});
const connect = http2.createServer(connectNodeAdapter({ interceptors: [metrics.interceptor()], routes: (router) => router.service(KeyService, impl) }));
await new Promise<void>((resolve) => connect.listen(0, "127.0.0.1", resolve));
console.log(JSON.stringify({ mesh: mesh.port, connect: (connect.address() as AddressInfo).port }));
