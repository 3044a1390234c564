// Calls the gateway the way an outside client does: Connect JSON over fetch,
// decoding the contract reason from the google.rpc.ErrorInfo detail.
import { fromBinary } from "@bufbuild/protobuf";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { Mesh, Replica } from "../harness/mesh.js";

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
  /** The ErrorInfo reason of a failed call. */
  reason?: string;
}

export async function call(baseUrl: string, method: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${baseUrl}/onering.v1.GatewayService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, any>;
  const info = (json.details as { type: string; value: string }[] | undefined)?.find((d) => d.type === "google.rpc.ErrorInfo");
  const reason = info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason : undefined;
  return { status: res.status, headers: res.headers, body: json, reason };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function admin(mesh: Mesh, baseUrl = mesh.gatewayUrl) {
  return (method: string, body: unknown = {}) => call(baseUrl, method, body, bearer(mesh.adminKey));
}

/** Creates a key through the admin API and returns its id and one-time secret. */
export async function createKey(mesh: Mesh, fields: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const reply = await admin(mesh)("CreateKey", fields);
  if (reply.status !== 200) throw new Error(`CreateKey failed: ${JSON.stringify(reply.body)}`);
  return { id: reply.body.key.id, secret: reply.body.secret };
}

/** Counter value of a Prometheus text exposition line matching every label. */
export async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((l) => line.includes(l)))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** Polls until `check` holds or the deadline passes; returns whether it held. */
export async function eventually(check: () => Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  } while (Date.now() < deadline);
  return check();
}

/** A further gateway replica with the mesh's environment, on its own port. */
export function startGatewayReplica(mesh: Mesh): Promise<Replica> {
  return mesh.startReplica("gateway");
}
