// An error as a log line may show it. The error objects themselves can carry
// secrets: drizzle writes every bound parameter of a failed query (a webhook's
// signing secret, a key's hash) into its message and stack, and Postgres lists
// the values of a refused row in `detail`. So only the name, the code, the
// message (with those parameters left out, and secret-shaped strings masked)
// and the stack frames are kept, for the error and each of its causes.
import { DrizzleQueryError } from "drizzle-orm";

export interface LoggedError {
  type: string;
  message: string;
  code?: string;
  /** Stack frames only: the first line of a stack repeats the message. */
  stack?: string;
  cause?: LoggedError;
}

// The secrets this mesh mints, and a password in a connection URL, wherever a message quotes them.
const secretShapes: Array<[RegExp, string]> = [
  [/\bsk_(live|test)_[0-9A-Za-z_]+/g, "sk_$1_[redacted]"],
  [/\bwhsec_[A-Za-z0-9+/=]+/g, "whsec_[redacted]"],
  [/(\/\/[^/:@\s]*:)[^@\s]*@/g, "$1[redacted]@"],
];

function mask(text: string): string {
  return secretShapes.reduce((masked, [shape, replacement]) => masked.replace(shape, replacement), text);
}

const maxCauses = 4;

export function loggableError(err: unknown, depth = 0): LoggedError {
  if (!(err instanceof Error)) return { type: typeof err, message: mask(String(err)) };
  const logged: LoggedError = {
    type: err.name,
    // The query text has only placeholders ($1, $2…); its parameters stay out.
    message: mask(err instanceof DrizzleQueryError ? `Failed query: ${err.query}` : err.message),
  };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") logged.code = String(code);
  const frames = err.stack?.split("\n").filter((line) => /^\s+at /.test(line));
  if (frames && frames.length > 0) logged.stack = mask(frames.join("\n"));
  if (err.cause !== undefined && depth < maxCauses) logged.cause = loggableError(err.cause, depth + 1);
  return logged;
}
