// One GatewayService operation three ways through the real gateway: REST with
// fetch, a Connect client over HTTP/1.1 and a gRPC client over HTTP/2. Results
// come back as proto JSON (the REST encoding), so the three compare field by
// field, and every REST reply is kept for the header and error-shape checks.
import { toJson, type DescMethodUnary, type DescMessage, type JsonObject, type JsonValue, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type CallOptions, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { GatewayService } from "../../gen/onering/v1/gateway_pb.js";
import { reasonOf } from "../../services/shared/errors.js";

export interface RestReply {
  /** The route as the contract writes it, e.g. "GET /v1/external/webhooks/{id}". */
  route: string;
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

export interface RpcReply {
  /** "connect" or "grpc", and the method called. */
  protocol: Protocol;
  method: DescMethodUnary;
  /** The response as REST would encode it; absent when the call failed. */
  json?: Record<string, any>;
  /** The contract reason of a failed call. */
  reason?: string;
  headers: Headers;
}

export interface RestInit {
  /** The bearer credential; empty sends none. */
  key: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
}

type Protocol = "connect" | "grpc";

// The same options the transcoder encodes REST responses with.
const json = <O extends DescMessage>(schema: O, message: MessageShape<O>) =>
  toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true }) as JsonObject as Record<string, any>;

export class GatewayCalls {
  /** Every REST reply so far, in order. */
  readonly replies: RestReply[] = [];
  /** Every Connect and gRPC reply so far, in order. */
  readonly rpcReplies: RpcReply[] = [];
  private readonly clients: Record<Protocol, Client<typeof GatewayService>>;

  constructor(private readonly baseUrl: string) {
    this.clients = {
      connect: createClient(GatewayService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
      grpc: createClient(GatewayService, createGrpcTransport({ baseUrl })),
    };
  }

  async rest(route: string, init: RestInit): Promise<RestReply> {
    const [method, template] = route.split(" ") as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(init.params?.[name] ?? ""));
    const query = init.query ? `?${new URLSearchParams(init.query)}` : "";
    const res = await fetch(`${this.baseUrl}${path}${query}`, {
      method,
      headers: { ...(init.key ? { authorization: `Bearer ${init.key}` } : {}), "content-type": "application/json", ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const reply = { route, status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    this.replies.push(reply);
    return reply;
  }

  async rpc<I extends DescMessage, O extends DescMessage>(protocol: Protocol, method: DescMethodUnary<I, O>, input: MessageInitShape<I>, key: string): Promise<RpcReply> {
    let headers = new Headers();
    const options: CallOptions = { headers: { authorization: `Bearer ${key}` }, onHeader: (h) => (headers = h) };
    const call = (this.clients[protocol] as unknown as Record<string, (req: unknown, o: CallOptions) => Promise<MessageShape<O>>>)[method.localName]!;
    let reply: RpcReply;
    try {
      reply = { protocol, method: method as DescMethodUnary, json: json(method.output, await call(input, options)), headers };
    } catch (err) {
      const error = ConnectError.from(err);
      reply = { protocol, method: method as DescMethodUnary, reason: reasonOf(error), headers: error.metadata };
    }
    this.rpcReplies.push(reply);
    return reply;
  }

  /** The operation over REST, Connect and gRPC, in that order. */
  async all<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, input: MessageInitShape<I>, route: string, init: RestInit) {
    const rest = await this.rest(route, init);
    const connect = await this.rpc("connect", method, input, init.key);
    const grpc = await this.rpc("grpc", method, input, init.key);
    return { rest, connect, grpc };
  }
}

const varying = /^(id|.*_id|.*_time|secret|prefix)$/;

/** The value with ids, timestamps and secrets masked, for comparing resources created separately. */
export function shape(value: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(value)) return value.map((v) => shape(v) ?? null);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, varying.test(k) && typeof v === "string" ? `<${k}>` : (shape(v) ?? null)]));
}
