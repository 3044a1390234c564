// Display helpers for timestamps and durations from the generated messages.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

export const when = (t: Timestamp | undefined) => (t ? timestampDate(t).toLocaleString() : "—");

export const unixTime = (seconds: bigint) => (seconds > 0n ? new Date(Number(seconds) * 1000).toLocaleString() : "—");

export const seconds = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
