// REST bodies are JSON and say so. A body of any other type (a form, a file
// upload, XML, gRPC framing sent to a REST path) was sent by mistake, and
// reading it as JSON would only guess; it is refused with 415.

// "application/json", any case, with at most a UTF-8 charset (the only one JSON allows).
const json = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** Whether a Content-Type header names JSON. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  return contentType !== undefined && json.test(contentType.trim());
}
