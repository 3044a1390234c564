// The machine and versions a run came from, for the head of RESULTS.md.
import { connect } from "@nats-io/transport-node";
import os from "node:os";
import pg from "pg";
import { testNatsUrl, testPostgresUrl } from "../test/harness/mesh.js";

export async function describeMachine(): Promise<string[]> {
  const nc = await connect({ servers: testNatsUrl });
  const natsVersion = nc.info?.version ?? "unknown";
  await nc.close();
  const client = new pg.Client({ connectionString: testPostgresUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
  await client.end();
  const cpus = os.cpus();
  const [one, five] = os.loadavg();
  return [
    `- machine: ${cpus.length} CPUs (nproc), ${cpus[0]?.model ?? "unknown CPU"}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${os.type()} ${os.release()}`,
    `- versions: node ${process.version}, nats-server ${natsVersion}, PostgreSQL ${rows[0].server_version}`,
    `- load average at start: ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)`,
  ];
}
