// Opaque keyset cursors: the sort time and id of the last row of a page. The
// next page starts strictly after them, so rows arriving meanwhile (newest
// first, they sort ahead) never shift a page or repeat a row. The time keeps
// Postgres's microseconds, which a JavaScript Date would round away.
import { sql, type AnyColumn, type SQL } from "drizzle-orm";
import { invalidArgument } from "../shared/errors.js";

export interface Cursor {
  /** The row's sort time in UTC, to the microsecond. */
  time: string;
  id: string;
}

export function encodePageToken(cursor: Cursor): string {
  return Buffer.from(`${cursor.time}|${cursor.id}`).toString("base64url");
}

const cursorTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The cursor a token stands for, undefined for the first page; INVALID_ARGUMENT for anything else. */
export function decodePageToken(token: string): Cursor | undefined {
  if (token === "") return undefined;
  const [time, id, ...rest] = Buffer.from(token, "base64url").toString().split("|");
  if (rest.length > 0 || !id || !cursorTime.test(time ?? "")) {
    throw invalidArgument([{ field: "page_token", description: "is not a token from a previous response" }]);
  }
  return { time: time!, id };
}

export function pageLimit(pageSize: number): number {
  return pageSize === 0 ? 50 : pageSize;
}

/** The column as cursor text: UTC, microseconds. */
export function cursorTimeOf(column: AnyColumn): SQL<string> {
  return sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Rows after the cursor in (time desc, id desc) order. */
export function after(time: AnyColumn, id: AnyColumn, cursor: Cursor): SQL {
  return sql`(${time}, ${id}) < (${cursor.time}::timestamptz, ${cursor.id})`;
}

/** A page from up to limit + 1 rows: the extra row only tells that another page follows. */
export function keysetPage<R>(rows: R[], limit: number, cursorOf: (row: R) => Cursor): { rows: R[]; nextPageToken: string } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, nextPageToken: rows.length > limit && last ? encodePageToken(cursorOf(last)) : "" };
}
