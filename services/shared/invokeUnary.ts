// Calls a unary implementation through an interceptor chain exactly as
// Connect's handler does (first interceptor outermost; the innermost step calls
// the implementation with a HandlerContext that reflects the request as the
// interceptors left it), without Connect's HTTP protocol layer around it. The
// REST transcoder and the gRPC unary fast path both call through here.
import type { DescMessage, DescMethod, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type Interceptor, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { CallSignal } from "./callSignal.js";
import { HeaderMap } from "./headerMap.js";

/** A unary method of a ServiceImpl. */
export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: HandlerContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

const callFinished = new ConnectError("the call has finished", Code.Canceled);
// Node fires a longer timer at once; a deadline that far off never comes in practice.
const maxTimerMs = 2 ** 31 - 1;

export interface InvokeInit {
  /** "rest" or "grpc", as the handler context reports it. */
  protocolName: string;
  /** Upper-case HTTP method of the request. */
  requestMethod: string;
  url: string;
  requestHeader: Headers;
  /** The caller's deadline from now; when it passes, the call's signal aborts with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  /**
   * Called with the call's abort function, e.g. to abort when the client goes
   * away, once something reads the call's signal; a call nobody can abort is not watched.
   */
  onAbortable?: (abort: (reason: unknown) => void) => void;
  /** The call's context values, when the caller has set some already (the gateway's REST path sets the caller). */
  contextValues?: ContextValues;
  /** Where the interceptors and the implementation set response headers and trailers; the caller keeps them should the call fail. */
  responseHeader?: Headers;
  responseTrailer?: Headers;
}

export interface InvokeResult<O extends DescMessage> {
  message: MessageShape<O>;
  /** Response headers and trailers the interceptors and the implementation set. */
  header: Headers;
  trailer: Headers;
}

/**
 * The call's result, synchronously when nothing had to be awaited: no
 * interceptors and an implementation that answered at once (the gateway's
 * REST GetMe), so a REST call can end without settling a single promise.
 */
export function invokeUnary<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  impl: UnaryImpl<I, O>,
  interceptors: readonly Interceptor[],
  input: MessageShape<I>,
  init: InvokeInit,
): InvokeResult<O> | Promise<InvokeResult<O>> {
  const call = new CallSignal(init.onAbortable);
  const deadline = init.timeoutMs === undefined ? undefined : Date.now() + init.timeoutMs;
  const timer = init.timeoutMs === undefined || init.timeoutMs > maxTimerMs ? undefined : setTimeout(() => call.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), init.timeoutMs);
  // As in Connect, the call's signal ends with the call; a shared reason spares a stack trace per call.
  const finish = () => {
    clearTimeout(timer);
    call.abort(callFinished);
  };
  const responseHeader = init.responseHeader ?? new HeaderMap();
  const responseTrailer = init.responseTrailer ?? new HeaderMap();
  const answer = (output: MessageInitShape<O>): UnaryResponse<I, O> => ({
    stream: false,
    service: method.parent,
    method,
    header: responseHeader,
    trailer: responseTrailer,
    message: normalize(method.output, output),
  });
  const innermost = (req: UnaryRequest<I, O>): UnaryResponse<I, O> | Promise<UnaryResponse<I, O>> => {
    const returned = impl(req.message, new UnaryCallContext(req, init, deadline, responseHeader, responseTrailer));
    return returned instanceof Promise ? returned.then(answer) : answer(returned);
  };
  const request = new UnaryCallRequest(method, init, init.contextValues ?? createContextValues(), input, call);
  let outcome: UnaryResponse<I, O> | Promise<UnaryResponse<I, O>>;
  try {
    if (interceptors.length === 0) {
      outcome = innermost(request);
    } else {
      let next = (async (req: UnaryRequest<I, O>) => innermost(req)) as (req: UnaryRequest<I, O>) => Promise<UnaryResponse<I, O>>;
      for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as never;
      outcome = next(request);
    }
  } catch (err) {
    finish();
    throw err;
  }
  if (!(outcome instanceof Promise)) {
    finish();
    return outcome;
  }
  return outcome.then(
    (res) => {
      finish();
      return res;
    },
    (err: unknown) => {
      finish();
      throw err;
    },
  );
}

// The request and the handler context are class instances with the signal
// getter on the prototype, never object literals with a getter: V8 gives each
// such literal a hidden class of its own (its getter is a fresh closure),
// reachable from the shared parent's transitions until a full GC, so every
// call's objects survived scavenges into the old space and each scavenge took
// 5–25 ms, the p99 stalls at half load.
class UnaryCallRequest<I extends DescMessage, O extends DescMessage> implements UnaryRequest<I, O> {
  readonly stream = false;
  readonly service: DescService;
  readonly requestMethod: string;
  readonly url: string;
  readonly header: Headers;

  constructor(
    readonly method: DescMethodUnary<I, O>,
    init: InvokeInit,
    readonly contextValues: ContextValues,
    readonly message: MessageShape<I>,
    private readonly call: CallSignal,
  ) {
    this.service = method.parent;
    this.requestMethod = init.requestMethod;
    this.url = init.url;
    this.header = init.requestHeader;
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }
}

/** What the implementation sees, reflecting the request as the interceptors left it. */
class UnaryCallContext implements HandlerContext {
  readonly protocolName: string;
  readonly method: DescMethod;
  readonly service: DescService;
  readonly requestMethod: string;
  readonly requestHeader: Headers;
  readonly values: ContextValues;
  readonly url: string;

  constructor(
    private readonly req: UnaryRequest,
    init: InvokeInit,
    private readonly deadline: number | undefined,
    readonly responseHeader: Headers,
    readonly responseTrailer: Headers,
  ) {
    this.protocolName = init.protocolName;
    this.method = req.method;
    this.service = req.service;
    this.requestMethod = init.requestMethod;
    this.requestHeader = req.header;
    this.values = req.contextValues;
    this.url = init.url;
  }

  get signal(): AbortSignal {
    return this.req.signal;
  }

  timeoutMs(): number | undefined {
    return this.deadline === undefined ? undefined : this.deadline - Date.now();
  }
}

function normalize<O extends DescMessage>(desc: O, output: MessageInitShape<O>): MessageShape<O> {
  return isMessage(output, desc) ? output : create(desc, output);
}
