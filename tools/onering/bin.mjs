#!/usr/bin/env node
// Entry for the `onering` bin: runs the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
