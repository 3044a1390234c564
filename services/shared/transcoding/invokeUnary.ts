// Calls a unary implementation through an interceptor chain exactly as
// Connect's handler does (first interceptor outermost; the innermost step calls
// the implementation with a HandlerContext that reflects the request as the
// interceptors left it), without Connect's HTTP protocol layer around it.
import type { DescMessage, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { CallSignal } from "./callSignal.js";

/** A unary method of a ServiceImpl. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

const callFinished = new ConnectError("the call has finished", Code.Canceled);

export interface InvokeInit {
  /** Upper-case HTTP method of the REST request. */
  requestMethod: string;
  url: string;
  requestHeader: Headers;
  /** Called once with the call's abort function, e.g. to abort when the client goes away. */
  onAbortable?: (abort: (reason: unknown) => void) => void;
}

export interface InvokeResult<O extends DescMessage> {
  message: MessageShape<O>;
  /** Response headers and trailers the interceptors and the implementation set. */
  header: Headers;
}

export async function invokeUnary<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  impl: UnaryImpl<I, O>,
  interceptors: readonly Interceptor[],
  input: MessageShape<I>,
  init: InvokeInit,
): Promise<InvokeResult<O>> {
  const call = new CallSignal();
  init.onAbortable?.((reason) => call.abort(reason));
  const values = createContextValues();
  const responseHeader = new Headers();
  const responseTrailer = new Headers();
  const innermost = async (req: UnaryRequest<I, O>): Promise<UnaryResponse<I, O>> => {
    const ctx: HandlerContext = {
      method,
      service: req.service,
      get signal() {
        return req.signal;
      },
      timeoutMs: noTimeout,
      requestMethod: init.requestMethod,
      requestHeader: req.header,
      responseHeader,
      responseTrailer,
      protocolName: "rest",
      values: req.contextValues,
      url: init.url,
    };
    const output = await impl(req.message, ctx);
    return { stream: false, service: method.parent, method, header: responseHeader, trailer: responseTrailer, message: normalize(method.output, output) };
  };
  let next = innermost as (req: UnaryRequest<I, O>) => Promise<UnaryResponse<I, O>>;
  for (const interceptor of [...interceptors].reverse()) next = interceptor(next as never) as never;
  try {
    const res = await next({
      stream: false,
      service: method.parent,
      method,
      requestMethod: init.requestMethod,
      url: init.url,
      get signal() {
        return call.signal;
      },
      header: init.requestHeader,
      contextValues: values,
      message: input,
    });
    // REST has no trailers: they join the headers, copied only when there are any.
    let header = res.header;
    res.trailer.forEach((value, key) => {
      if (header === res.header) header = new Headers(res.header);
      header.append(key, value);
    });
    return { message: res.message, header };
  } finally {
    // As in Connect, the call's signal ends with the call; a shared reason spares a stack trace per call.
    call.abort(callFinished);
  }
}

// REST requests carry no deadline of their own.
const noTimeout = () => undefined;

function normalize<O extends DescMessage>(desc: O, output: MessageInitShape<O>): MessageShape<O> {
  return isMessage(output, desc) ? output : create(desc, output);
}
