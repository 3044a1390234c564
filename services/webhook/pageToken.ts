// Opaque page tokens: the offset of the next page, so clients cannot build one by hand by accident.
import type { Violation } from "../shared/errors.js";

export function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

/** The offset a token stands for, or a violation. */
export function decodePageToken(token: string): number | Violation {
  if (token === "") return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(token, "base64url").toString());
  return match ? Number(match[1]) : { field: "page_token", description: "is not a token from a previous response" };
}

export function pageLimit(pageSize: number): number {
  return pageSize === 0 ? 50 : pageSize;
}
