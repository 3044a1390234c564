// The graceful part of shutdown: HTTP/2 clients get a GOAWAY and HTTP/1.1
// clients `Connection: close`, so they take new work elsewhere; requests in
// flight finish; what is still open at the deadline is cut.
import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";

export class ConnectionDrain {
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /**
   * The latest HTTP/1.1 response of each connection, found when the drain starts.
   * A map entry rather than a listener per response: a listener on every
   * response cost the gateway about 1 µs of its REST calls.
   */
  private readonly latest = new WeakMap<net.Socket, http.ServerResponse>();
  private draining = false;
  private drained?: () => void;

  constructor(private readonly h1: http.Server) {}

  get isDraining(): boolean {
    return this.draining;
  }

  /** Connections still open. */
  get open(): number {
    return this.sockets.size;
  }

  addSocket(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.drained?.();
    });
  }

  addSession(session: http2.ServerHttp2Session): void {
    if (this.draining) return void session.close();
    this.sessions.add(session);
    session.once("close", () => this.sessions.delete(session));
  }

  /** A response on `socket`, which it may not hold yet: one pipelined behind another waits for its turn. */
  addResponse(socket: net.Socket, res: http.ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
    else this.latest.set(socket, res);
  }

  /**
   * Stops new work on every connection and waits until they have all closed or the
   * deadline (ms since the epoch) passes; resolves whether they all closed.
   */
  async drain(deadline: number): Promise<boolean> {
    this.draining = true;
    // session.close() sends GOAWAY: the client opens no new stream here, open ones run to their end.
    for (const session of this.sessions) session.close();
    this.h1.closeIdleConnections();
    for (const socket of this.sockets) {
      const res = this.latest.get(socket);
      if (res === undefined || res.writableFinished) continue;
      if (!res.headersSent) res.shouldKeepAlive = false;
      // One that already promised keep-alive leaves an idle connection behind.
      else res.once("close", () => this.h1.closeIdleConnections());
    }
    if (this.sockets.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const allClosed = await Promise.race([
      new Promise<boolean>((resolve) => (this.drained = () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    return allClosed;
  }

  /** Cuts every connection still open. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
