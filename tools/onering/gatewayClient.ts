// The admin CLI's client: Connect over HTTP/1.1 to the gateway, with the admin key.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";

export function gatewayClient(baseUrl: string, adminKey: string): Client<typeof GatewayService> {
  return createClient(
    GatewayService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${adminKey}`);
          return next(req);
        },
      ],
    }),
  );
}
