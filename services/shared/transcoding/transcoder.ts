// REST for any Connect service: requests are matched against the route table
// built from google.api.http, turned into the request message, run through the
// same interceptors as Connect, and answered in the proto3 JSON mapping with
// proto field names. Every failure, including 404/405/413/415 and malformed
// JSON, leaves in the one error shape.
import { toJson, type DescMessage, type DescMethodUnary, type JsonObject, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Interceptor } from "@connectrpc/connect";
import type http from "node:http";
import { invalidArgument, meshError } from "../errors.js";
import { onClientGone } from "../clientGone.js";
import { HeaderMap } from "../headerMap.js";
import type { Implementation } from "../implementation.js";
import { invokeUnary, type InvokeInit, type InvokeResult, type UnaryImpl } from "../invokeUnary.js";
import { loggableError } from "../loggableError.js";
import type { Logger } from "../logger.js";
import { acceptRequestId, requestIdHeader } from "../requestId.js";
import type { AnyRequest, AnyResponse } from "../server.js";
import { endTogether } from "./endTogether.js";
import { errorResponse } from "./errorResponse.js";
import { isJsonMediaType } from "./jsonMediaType.js";
import { openApiDocument, type OpenApiInfo } from "./openapi.js";
import { requestMessage } from "./requestMessage.js";
import { RouteTable, type Route } from "./routeTable.js";

/** Runs one transcoded call: the implementation, and whatever guards it; synchronously when nothing had to be awaited. */
export type UnaryInvoke = (
  method: DescMethodUnary,
  impl: UnaryImpl<DescMessage, DescMessage>,
  input: MessageShape<DescMessage>,
  init: InvokeInit,
) => InvokeResult<DescMessage> | Promise<InvokeResult<DescMessage>>;

export interface TranscoderOptions {
  services: Implementation[];
  /** The interceptors Connect runs for the same services, in the same order. */
  interceptors?: Interceptor[];
  /** Runs calls instead of `interceptors`: a service's own flat path through the same checks (the gateway's restCalls.ts). */
  invoke?: UnaryInvoke;
  maxBodyBytes: number;
  logger: Logger;
  /** Serves the generated OpenAPI document at `path` (GET). */
  openapi?: OpenApiInfo & { path: string };
}

export interface Transcoder {
  routes: RouteTable;
  /**
   * Handles a request unless its path is a Connect procedure; for serve()'s
   * httpHandler, which passes the id it accepted. Alone, it accepts one itself.
   */
  handle(req: AnyRequest, res: AnyResponse, requestId?: string): boolean;
}

// "/pkg.Service/Method": Connect, gRPC and gRPC-Web, never REST.
const procedurePath = /^\/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

export function createTranscoder(options: TranscoderOptions): Transcoder {
  const routes = new RouteTable(options.services.map((s) => s.service));
  const impls = new Map(options.services.map((s) => [s.service.typeName, s.impl]));
  // Each route's implementation, looked up and bound once rather than on every request.
  const handlers = new Map<Route, UnaryImpl<DescMessage, DescMessage>>();
  for (const route of routes.routes) {
    const impl = impls.get(route.method.parent.typeName);
    const fn = impl?.[route.method.localName];
    if (typeof fn === "function") handlers.set(route, (fn as UnaryImpl<DescMessage, DescMessage>).bind(impl));
  }
  const interceptors = options.interceptors ?? [];
  const invoke: UnaryInvoke = options.invoke ?? ((method, impl, input, init) => invokeUnary(method, impl, interceptors, input, init));
  const { logger, maxBodyBytes } = options;
  const openapi = options.openapi && JSON.stringify(openApiDocument(routes, options.openapi));

  const fail = (res: AnyResponse, err: unknown, requestId: string) => {
    const { status, body, headers } = errorResponse(err, requestId);
    // A contract error (503 UNAVAILABLE included) is one short line; only an unexpected error carries its stack.
    if (!(err instanceof ConnectError)) logger.error({ request_id: requestId, error: loggableError(err), status }, "REST request failed");
    else if (status < 500) logger.debug({ request_id: requestId, status, code: body.code }, "REST request refused");
    // INTERNAL from the call itself was logged, once, by the error boundary among the interceptors.
    else if (body.code !== "INTERNAL") logger.warn({ request_id: requestId, status, code: body.code, message: body.message }, "REST request failed");
    send(res, status, body, headers, requestId);
  };

  // A route without a body is served synchronously as far as the call allows.
  const serveRoute = (req: AnyRequest, res: AnyResponse, requestId: string, route: Route, variables: Array<[string[], string]>, query: string): void | Promise<void> => {
    if (route.body === "") return call(req, res, requestId, route, variables, query, undefined);
    return readBody(req, maxBodyBytes).then((text) => call(req, res, requestId, route, variables, query, parseJson(text, req.headers["content-type"])));
  };

  const call = (req: AnyRequest, res: AnyResponse, requestId: string, route: Route, variables: Array<[string[], string]>, query: string, body: JsonValue | undefined): void | Promise<void> => {
    const input = requestMessage(route, variables, query, body);
    const impl = handlers.get(route);
    if (impl === undefined) {
      throw new ConnectError(`${route.method.parent.typeName}.${route.method.name} is not implemented`, Code.Unimplemented);
    }
    const method = route.method as DescMethodUnary;
    const result = invoke(method, impl, input, {
      protocolName: "rest",
      requestMethod: route.httpMethod,
      url: req.url ?? "/",
      requestHeader: HeaderMap.fromIncoming(req.headers),
      onAbortable: (abort) => onClientGone(res, () => abort(meshError("UNAVAILABLE", "the client went away"))),
      contextValues: createContextValues(),
    });
    return result instanceof Promise ? result.then((r) => answer(res, requestId, route, r)) : answer(res, requestId, route, result);
  };

  const handle = (req: AnyRequest, res: AnyResponse, accepted?: string): boolean => {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (procedurePath.test(path)) return false;
    const requestId = accepted ?? acceptRequestId(req.headers[requestIdHeader]);
    const method = req.method ?? "GET";
    if (openapi !== undefined && path === options.openapi?.path && method === "GET") {
      res.writeHead(200, { [requestIdHeader]: requestId, "content-type": "application/json", "content-length": Buffer.byteLength(openapi) });
      res.end(openapi);
      return true;
    }
    const match = routes.match(method, path);
    if (match.route === undefined) {
      if (match.allowed.length === 0) {
        fail(res, meshError("NOT_FOUND", `no route for ${method} ${path}`), requestId);
      } else {
        const err = meshError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${path}; use ${match.allowed.join(", ")}`);
        err.metadata.set("allow", match.allowed.join(", "));
        fail(res, err, requestId);
      }
      return true;
    }
    try {
      const served = serveRoute(req, res, requestId, match.route, match.variables, queryAt < 0 ? "" : url.slice(queryAt + 1));
      if (served instanceof Promise) served.catch((err: unknown) => fail(res, err, requestId));
    } catch (err) {
      fail(res, err, requestId);
    }
    return true;
  };

  return { routes, handle };
}

function answer(res: AnyResponse, requestId: string, route: Route, { message, header, trailer }: InvokeResult<DescMessage>): void {
  const json = toJson(route.method.output, message, jsonOptions) as JsonObject;
  send(res, 200, route.responseBodyField ? (json[route.responseBodyField.name] ?? null) : json, withTrailers(header, trailer), requestId);
}

async function readBody(req: AnyRequest, limit: number): Promise<string> {
  const tooLarge = () => meshError("PAYLOAD_TOO_LARGE", `the request body is larger than ${limit} bytes`);
  if (Number(req.headers["content-length"]) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

// An empty body needs no type: `POST …:rotate-secret` with nothing, or curl's `-d ''`.
function parseJson(text: string, contentType: string | undefined): JsonValue | undefined {
  if (text.trim() === "") return undefined;
  if (!isJsonMediaType(contentType)) throw meshError("UNSUPPORTED_MEDIA_TYPE", "the request body must be JSON, sent with Content-Type: application/json");
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw invalidArgument([{ field: "body", description: `malformed JSON: ${(err as Error).message}` }]);
  }
}

// REST has no trailers: they join the headers, copied only when there are any.
function withTrailers(header: Headers, trailer: Headers): Headers {
  let merged = header;
  trailer.forEach((value, key) => {
    if (merged === header) merged = new Headers(header);
    merged.append(key, value);
  });
  return merged;
}

// The proto3 JSON mapping with the proto's own field names, every field present.
const jsonOptions = { useProtoFieldName: true, alwaysEmitImplicit: true };

const writtenHere = new Set([requestIdHeader, "content-type", "content-length"]);

// All headers in one writeHead: Node then stores the list as given, where
// setHeader before it would validate and copy each one a second time. The
// head is stored at once (headersSent), the bytes leave with the turn's others.
function send(res: AnyResponse, status: number, body: unknown, headers: Headers, requestId: string): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  const head = [requestIdHeader, requestId, "content-type", "application/json", "content-length", String(Buffer.byteLength(payload))];
  if (headers instanceof HeaderMap) headers.pushTo(head, writtenHere);
  else
    headers.forEach((value, name) => {
      if (!writtenHere.has(name)) head.push(name, value);
    });
  // Node's HTTP/2 compatibility response takes the same flat list; only its typings do not say so.
  (res as http.ServerResponse).writeHead(status, head);
  endTogether(res, payload);
}
