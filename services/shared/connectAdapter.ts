// Serves Connect, gRPC and gRPC-Web through Connect's router, as connect-node's
// connectNodeAdapter does, with one addition: a method whose input can nest
// deeply has its body read and probed first (deepRequestProbe.ts), so a request
// too deep to decode is refused with a violation rather than a decoder error.
import { Code, ConnectError, createConnectRouter, createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { createAsyncIterable, readAllBytes, uResponseNotFound, type UniversalHandler, type UniversalServerRequest } from "@connectrpc/connect/protocol";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { acceptedCompression, canNestDeeply, deepRequestRefusal, emptyRequestBody, probeDeepRequest } from "./deepRequestProbe.js";
import type { Logger } from "./logger.js";
import { requestIdHeader } from "./requestId.js";
import type { AnyRequest, AnyResponse } from "./server.js";

export interface ConnectAdapterOptions {
  readMaxBytes: number;
  interceptors: Interceptor[];
  routes: (router: ConnectRouter) => void;
  logger: Logger;
}

/** Reads the whole body, and swaps it for an empty message with a refusal when it nests too deeply (or is too large). */
async function probeBody(uHandler: UniversalHandler, uReq: UniversalServerRequest, readMaxBytes: number): Promise<void> {
  const contextValues = uReq.contextValues ?? createContextValues();
  let refusal: ConnectError | undefined;
  try {
    const body = await readAllBytes(uReq.body as AsyncIterable<Uint8Array>, readMaxBytes, uReq.header.get("content-length"));
    refusal = await probeDeepRequest(uHandler.method.input, uReq.header, body, readMaxBytes);
    uReq.body = createAsyncIterable([body]);
  } catch (err) {
    refusal = ConnectError.from(err);
  }
  if (refusal === undefined) return;
  uReq.body = createAsyncIterable([emptyRequestBody(uReq.header)]);
  uReq.contextValues = contextValues.set(deepRequestRefusal, refusal);
}

export function createConnectAdapter(options: ConnectAdapterOptions): (req: AnyRequest, res: AnyResponse) => void {
  const router = createConnectRouter({ readMaxBytes: options.readMaxBytes, acceptCompression: acceptedCompression, interceptors: options.interceptors });
  options.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const probed = new Set(router.handlers.filter((h) => h.method.methodKind === "unary" && canNestDeeply(h.method.input)));

  const serve = async (uHandler: UniversalHandler, req: AnyRequest, res: AnyResponse) => {
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, undefined);
    if (probed.has(uHandler) && uReq.method === "POST") await probeBody(uHandler, uReq, options.readMaxBytes);
    await universalResponseToNodeResponse(await uHandler(uReq), res as never);
  };

  return (req, res) => {
    const uHandler = handlers.get(req.url?.split("?", 1)[0] ?? "");
    if (uHandler === undefined) {
      res.writeHead(uResponseNotFound.status);
      res.end();
      return;
    }
    serve(uHandler, req, res).catch((err: unknown) => {
      // A client that went away is not a failure of ours.
      if (ConnectError.from(err).code === Code.Aborted) return;
      options.logger.error({ err, rpc: `${uHandler.service.typeName}/${uHandler.method.name}`, request_id: req.headers[requestIdHeader] }, "connect handler failed");
    });
  };
}
