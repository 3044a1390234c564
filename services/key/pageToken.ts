// Opaque list cursors: the (create time, id) of the last key on a page.
import { invalidArgument } from "../shared/errors.js";

export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodePageToken(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`).toString("base64url");
}

export function decodePageToken(token: string): Cursor | undefined {
  if (token === "") return undefined;
  const [time, id, ...rest] = Buffer.from(token, "base64url").toString().split("|");
  const createdAt = new Date(time ?? "");
  if (rest.length > 0 || !id?.startsWith("key_") || Number.isNaN(createdAt.getTime())) {
    throw invalidArgument([{ field: "page_token", description: "is not a token from a previous response" }]);
  }
  return { createdAt, id };
}
