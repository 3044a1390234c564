// Keeps process.nextTick on V8's fast path for the life of the process.
// Node 20's nextTick builds each queued callback as an object literal with
// computed keys, which V8 keeps fast only while the hidden class it first saw
// for that literal stays alive. A full GC at a moment when no tick is queued
// frees it; the next tick gets a new one, and from then on every nextTick
// (several per HTTP request) defines its properties through the runtime:
// 6-17 % of a process's CPU under load (docs/PERFORMANCE.md). One tick object
// held here keeps the hidden class alive. Imported first by every process.
import { executionAsyncResource } from "node:async_hooks";

/** The held tick; exported, so the module namespace keeps it reachable for good. */
export const heldTicks: object[] = [];

// Inside a nextTick callback the execution resource is that tick's own object.
process.nextTick(() => heldTicks.push(executionAsyncResource()));
