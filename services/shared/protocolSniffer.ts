// Tells HTTP/1.1 from cleartext HTTP/2 by the connection preface and hands each
// socket to the server that speaks its protocol. Until then the socket belongs
// to no server, so none of Node's own timeouts run: the sniffer enforces the
// headers timeout itself, or a client that sends nothing holds the socket forever.
// An HTTP/1.1 client is handed over at its first byte or two and Node's headers
// timer starts then, so one that also dawdles over those gets at most twice the timeout.
import type net from "node:net";
import { closeTimedOut } from "./slowClients.js";

// Every HTTP/2 connection starts with this preface; HTTP/1.1 never does.
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface SnifferOptions {
  headersTimeoutMs: number;
  http1(socket: net.Socket): void;
  http2(socket: net.Socket): void;
}

export class ProtocolSniffer {
  /** Sockets whose protocol is not known yet, with their deadline. */
  private readonly pending = new Map<net.Socket, NodeJS.Timeout>();

  constructor(private readonly options: SnifferOptions) {}

  // The peeked bytes go back with unshift: both parsers take what is buffered on the socket before
  // reading its handle, so HTTP/2 keeps the native socket (a wrapper stream cost ~1 ms of CPU per call).
  sniff(socket: net.Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && head.length < h2Preface.length) return;
      this.settle(socket);
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      if (isH2) return this.options.http2(socket);
      this.options.http1(socket);
      socket.resume();
    };
    // Nothing at all: answered like Node answers an idle HTTP/1.1 connection. Part of an
    // HTTP/2 preface: the client reads only HTTP/2 frames, so it is just closed.
    const deadline = setTimeout(() => {
      this.settle(socket);
      socket.off("data", onData);
      if (head.length === 0) closeTimedOut(socket);
      else socket.destroy();
    }, this.options.headersTimeoutMs);
    this.pending.set(socket, deadline);
    socket.once("close", () => this.settle(socket));
    socket.on("data", onData);
  }

  /** Closes every connection that has not shown its protocol yet: it has no request in flight. */
  closePending(): void {
    for (const socket of [...this.pending.keys()]) {
      this.settle(socket);
      socket.destroy();
    }
  }

  private settle(socket: net.Socket): void {
    clearTimeout(this.pending.get(socket));
    this.pending.delete(socket);
  }
}
