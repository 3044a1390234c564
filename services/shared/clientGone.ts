// Whether a client abandoned a call before its response was complete, for the
// REST transcoder and the gRPC unary fast path to abort the call's signal.
import http2 from "node:http2";
import type { AnyResponse } from "./server.js";

/** Calls `gone` once the client has gone away mid-call (at once if it already has); never after a complete response. */
export function onClientGone(res: AnyResponse, gone: () => void): void {
  // An HTTP/2 client's RST_STREAM ends the compat response as "finished", so there the stream's code tells.
  if ("stream" in res) {
    const stream = res.stream;
    const check = () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) gone();
    };
    if (stream.closed) check();
    else stream.once("close", check);
    return;
  }
  const check = () => {
    if (!res.writableFinished) gone();
  };
  if (res.destroyed) check();
  else res.once("close", check);
}
