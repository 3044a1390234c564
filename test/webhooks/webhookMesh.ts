// What the webhook suites run against: WebhookService and one delivery worker
// on real Postgres and NATS, a local receiver, and a client of the service.
import { startMesh, type Mesh } from "../harness/mesh.js";
import { startReceiver, type Receiver } from "./receiver.js";
import { webhookClient } from "./webhookClient.js";

export interface WebhookMesh {
  mesh: Mesh;
  receiver: Receiver;
  client: ReturnType<typeof webhookClient>;
}

export async function startWebhookMesh(env: Record<string, string>): Promise<WebhookMesh> {
  const receiver = await startReceiver();
  const mesh = await startMesh({ only: ["webhook", "webhook-worker"], env });
  return { mesh, receiver, client: webhookClient(mesh) };
}

export async function stopWebhookMesh(fixture: Partial<WebhookMesh>): Promise<void> {
  await fixture.mesh?.stop();
  await fixture.receiver?.close();
}
