// Bounds on clients that dawdle or idle once a server has their socket: a
// request head must arrive within the headers timeout (slow-loris), and idle
// keep-alive connections and HTTP/2 sessions close.
import http from "node:http";
import type http2 from "node:http2";
import type stream from "node:stream";

/**
 * Idle keep-alive connections and HTTP/2 sessions close after this. It is above the
 * 60 s idle timeouts of the usual proxies (ingress-nginx, cloud load balancers) and of
 * the mesh's own clients, so the client side closes first and never sends a request
 * onto a connection that is being closed.
 */
export const idleTimeoutMs = 65_000;

const requestTimedOut = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/** Answers 408 and closes once it is written: the client is too slow to be worth more. */
export function closeTimedOut(socket: stream.Duplex): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(requestTimedOut, () => socket.destroy());
}

/** An HTTP/1.1 server fed sockets by the protocol sniffer, with its slow-client timeouts running. */
export function createHttp1Server(headersTimeoutMs: number, handler: http.RequestListener): http.Server {
  const server = http.createServer(
    {
      keepAliveTimeout: idleTimeoutMs,
      headersTimeout: headersTimeoutMs,
      // Checked once a second (Node's default is 30 s, far coarser than the timeout it enforces).
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
    },
    handler,
  );
  // http.Server starts tracking connections, which both the headers timeout and
  // closeIdleConnections() need, when it starts listening. This one never listens
  // (the sniffer hands it sockets), so it is told it did.
  server.emit("listening");
  return server;
}

/** Closes an HTTP/2 session idle that long with a GOAWAY, letting any open stream finish. */
export function closeWhenIdle(session: http2.ServerHttp2Session): void {
  session.setTimeout(idleTimeoutMs, () => session.close());
}
