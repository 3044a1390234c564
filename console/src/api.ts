// The browser is one more Connect client of the gateway: the generated
// GatewayService client over connect-web, same origin, with the session's key.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { reasons, type ErrorReason } from "../../services/shared/errors.js";
import type { Session } from "./session.js";

export type Gateway = Client<typeof GatewayService>;

export function gatewayClient(session: Pick<Session, "key" | "operator">): Gateway {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${session.key}`);
    if (session.operator) req.header.set("x-onering-operator", session.operator);
    return next(req);
  };
  return createClient(GatewayService, createConnectTransport({ baseUrl: location.origin, interceptors: [auth] }));
}

export interface Problem {
  reason: string;
  message: string;
  recovery: string;
}

/** The contract's reason, message and recovery of a failed call (DESIGN.md, "Errors"). */
export function problemOf(err: unknown): Problem {
  const error = ConnectError.from(err);
  const info = error.findDetails(ErrorInfoSchema)[0];
  const reason = (info?.reason ?? (error.code === Code.Unavailable ? "UNAVAILABLE" : "INTERNAL")) as ErrorReason;
  return { reason, message: error.rawMessage, recovery: reasons[reason]?.recovery ?? "" };
}
