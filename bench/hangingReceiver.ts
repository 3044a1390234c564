// The noisy-neighbour section's bad receiver, in its own process: it accepts
// every connection and reads every request, and never answers.
import http from "node:http";
import { listenLocal } from "./childServer.js";

const server = http.createServer((req) => req.resume());
// Its requests wait out the attempt timeout; nothing on this side cuts them first.
server.requestTimeout = 0;
server.headersTimeout = 0;

console.log(JSON.stringify({ receiver: await listenLocal(server) }));
