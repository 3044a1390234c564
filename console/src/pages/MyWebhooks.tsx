// Consumers: their webhooks (create, edit, pause/resume, rotate the secret
// with an overlap, send a test event) and each one's delivery log.
import { useState } from "preact/hooks";
import type { Webhook } from "../../../gen/onering/v1/webhook_pb.js";
import type { Gateway } from "../api.js";
import { ColumnHeads } from "../ui/ColumnHeads.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { SecretOnce } from "../ui/SecretOnce.js";
import { when } from "../ui/format.js";
import { useAction, useCall } from "../ui/useCall.js";

const typesOf = (text: string) =>
  text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);

export function MyWebhooks({ client }: { client: Gateway }) {
  const hooks = useCall(() => client.listWebhooks({ pageSize: 100 }), [client]);
  const [selected, setSelected] = useState<string>();
  const [editing, setEditing] = useState<string>();
  const [secret, setSecret] = useState<{ label: string; secret: string; note?: string }>();
  const [message, setMessage] = useState("");
  const { run, problem } = useAction();
  const act = async (action: () => Promise<unknown>) => {
    await run(action);
    await hooks.reload();
  };

  const create = async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const res = await run(() => client.createWebhook({ url: String(form.get("url")), eventTypes: typesOf(String(form.get("types"))), description: String(form.get("description")) }));
    if (res) {
      setSecret({ label: `Signing secret of ${res.webhook?.url}`, secret: res.secret });
      formEl.reset();
      await hooks.reload();
    }
  };
  const save = async (e: Event, hook: Webhook) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    await act(() => client.updateWebhook({ id: hook.id, url: String(form.get("url")), eventTypes: typesOf(String(form.get("types"))), description: String(form.get("description")) }));
    setEditing(undefined);
  };
  const rotate = async (hook: Webhook) => {
    const res = await run(() => client.rotateWebhookSecret({ id: hook.id, gracePeriodSeconds: 86400n }));
    if (res) setSecret({ label: `New signing secret of ${hook.url}`, secret: res.secret, note: `The old one still signs until ${when(res.previousSecretExpireTime)}.` });
  };
  const test = async (hook: Webhook) => {
    const res = await run(() => client.testWebhook({ id: hook.id }));
    if (res) setMessage(`Test event sent to ${hook.url}: delivery ${res.delivery?.id}.`);
    setSelected(hook.id);
  };

  return (
    <section aria-labelledby="hooks-title">
      <h1 id="hooks-title">My webhooks</h1>
      <ProblemBox problem={problem ?? hooks.problem} />
      {message && (
        <p role="status" class="notice">
          {message}
        </p>
      )}
      {secret && <SecretOnce {...secret} />}
      <form class="inline" onSubmit={create} aria-label="Create a webhook">
        <label>
          URL <input name="url" type="url" required placeholder="https://example.com/hooks" />
        </label>
        <label>
          Event types <input name="types" required placeholder="order.created, order.paid" />
        </label>
        <label>
          Description <input name="description" />
        </label>
        <button type="submit">Create webhook</button>
      </form>
      <div class="scroll">
        <table>
          <caption>Subscriptions</caption>
          <ColumnHeads names={["Endpoint", "Event types", "State", "Circuit", "Actions"]} />
          <tbody>
            {hooks.data?.webhooks.map((h) =>
              editing === h.id ? (
                <tr key={h.id}>
                  <td colSpan={5}>
                    <form class="inline" onSubmit={(e) => save(e, h)} aria-label={`Edit ${h.url}`}>
                      <label>
                        URL <input name="url" type="url" required defaultValue={h.url} />
                      </label>
                      <label>
                        Event types <input name="types" required defaultValue={h.eventTypes.join(", ")} />
                      </label>
                      <label>
                        Description <input name="description" defaultValue={h.description} />
                      </label>
                      <button type="submit">Save</button>
                      <button type="button" onClick={() => setEditing(undefined)}>
                        Cancel
                      </button>
                    </form>
                  </td>
                </tr>
              ) : (
                <tr key={h.id} data-webhook={h.url}>
                  <th scope="row">
                    {h.url}
                    <div class="hint">
                      {h.id} {h.description}
                    </div>
                  </th>
                  <td>{h.eventTypes.join(", ")}</td>
                  <td>{!h.enabled ? `disabled: ${h.disabledReason}` : h.paused ? "paused" : "active"}</td>
                  <td>
                    {h.circuit?.state ?? "closed"}
                    {h.circuit && h.circuit.consecutiveFailures > 0 && <div class="hint">{h.circuit.consecutiveFailures} failures in a row</div>}
                  </td>
                  <td>
                    <div class="actions">
                    <button type="button" onClick={() => setSelected(h.id)}>
                      Deliveries
                    </button>
                    <button type="button" onClick={() => setEditing(h.id)}>
                      Edit
                    </button>
                    <button type="button" onClick={() => act(() => client.updateWebhook({ id: h.id, paused: !h.paused }))}>
                      {h.paused ? "Resume" : "Pause"}
                    </button>
                    <button type="button" onClick={() => rotate(h)}>
                      Rotate secret
                    </button>
                    <button type="button" onClick={() => test(h)}>
                      Send test event
                    </button>
                    </div>
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      </div>
      {selected && <DeliveryLog key={selected} client={client} webhookId={selected} />}
    </section>
  );
}

function DeliveryLog({ client, webhookId }: { client: Gateway; webhookId: string }) {
  const { data, problem, reload } = useCall(() => client.listDeliveries({ webhookId, pageSize: 50 }), [client, webhookId], 5000);
  return (
    <section aria-labelledby="log-title" class="log">
      <h2 id="log-title">
        Delivery log of <code>{webhookId}</code>
      </h2>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      <ProblemBox problem={problem} />
      {data?.deliveries.length === 0 && <p>No deliveries yet.</p>}
      {data?.deliveries.map((d) => (
        <article key={d.id} class="delivery" data-delivery={d.id} data-status={d.status} aria-label={`Delivery ${d.id}`}>
          <h3>
            {d.eventType} <span class={`status ${d.status}`}>{d.status}</span>
          </h3>
          <p class="hint">
            {d.id} · created {when(d.createTime)}
            {d.nextAttemptTime && ` · next attempt ${when(d.nextAttemptTime)}`}
          </p>
          <div class="scroll">
          <table>
            <caption>Attempts</caption>
            <ColumnHeads names={["#", "Time", "Status", "Latency", "Response"]} />
            <tbody>
              {d.attempts.map((a) => (
                <tr key={a.number} data-attempt={a.number}>
                  <td>{a.number}</td>
                  <td>{when(a.attemptTime)}</td>
                  <td data-testid="attempt-status">{a.statusCode || a.error}</td>
                  <td>{String(a.durationMs)} ms</td>
                  <td>
                    <code class="excerpt">{a.responseBody.slice(0, 200)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        </article>
      ))}
    </section>
  );
}
