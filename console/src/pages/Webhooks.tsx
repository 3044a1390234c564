// Operators' webhooks: dead letters with filters, replay one or all since a
// time (with what was skipped and why), every endpoint's circuit breaker, and
// publishing a test event.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import type { ReplayDeadLettersResponse } from "../../../gen/onering/v1/webhook_pb.js";
import type { Gateway } from "../api.js";
import { ColumnHeads } from "../ui/ColumnHeads.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { when } from "../ui/format.js";
import { useAction, useCall } from "../ui/useCall.js";

interface Filter {
  webhookId: string;
  eventType: string;
  since: string;
}

const sinceOf = (local: string) => (local ? timestampFromDate(new Date(local)) : undefined);

export function Webhooks({ client }: { client: Gateway }) {
  const [filter, setFilter] = useState<Filter>({ webhookId: "", eventType: "", since: "" });
  const deadLetters = useCall(
    () => client.listDeadLetters({ webhookId: filter.webhookId, eventType: filter.eventType, since: sinceOf(filter.since), pageSize: 100 }),
    [client, filter],
  );
  const [failingOnly, setFailingOnly] = useState(false);
  const endpoints = useCall(() => client.listEndpoints({ failingOnly, pageSize: 200 }), [client, failingOnly], 5000);
  const [message, setMessage] = useState("");
  const [bulk, setBulk] = useState<ReplayDeadLettersResponse>();
  const { run, problem } = useAction();

  const applyFilter = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setFilter({ webhookId: String(form.get("webhookId")).trim(), eventType: String(form.get("eventType")).trim(), since: String(form.get("since")) });
  };
  const replayOne = async (id: string) => {
    const res = await run(() => client.replayDelivery({ id }));
    if (res) setMessage(`Replayed ${id} (was ${res.previousStatus}); now ${res.delivery?.status}.`);
    await deadLetters.reload();
  };
  const replaySince = async () => {
    const res = await run(() => client.replayDeadLetters({ since: sinceOf(filter.since), webhookId: filter.webhookId }));
    if (res) setBulk(res);
    await deadLetters.reload();
  };
  const publish = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(String(form.get("data")) || "{}") as Record<string, unknown>;
    } catch {
      setMessage("The event data must be a JSON object.");
      return;
    }
    const res = await run(() => client.publishEvent({ type: String(form.get("type")), data: data as never }));
    if (res) setMessage(`Published ${res.event?.id} to ${res.deliveryCount} subscription(s).`);
  };

  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <ProblemBox problem={problem ?? deadLetters.problem} />
      {message && (
        <p role="status" class="notice">
          {message}
        </p>
      )}
      <h2>Dead letters</h2>
      <form class="inline" onSubmit={applyFilter} aria-label="Filter dead letters">
        <label>
          Webhook id <input name="webhookId" />
        </label>
        <label>
          Event type <input name="eventType" />
        </label>
        <label>
          Since <input name="since" type="datetime-local" step="1" />
        </label>
        <button type="submit">Filter</button>
        <button type="button" onClick={replaySince}>
          Replay all matching
        </button>
      </form>
      {bulk && (
        <div role="status" class="notice" data-testid="bulk-replay">
          Replayed {bulk.replayedCount}, skipped {bulk.skippedCount}.
          {bulk.skipped.length > 0 && (
            <ul>
              {bulk.skipped.map((s) => (
                <li key={s.webhookId}>
                  {s.count} for webhook {s.webhookId}: {s.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div class="scroll">
        <table>
          <caption>Dead-lettered deliveries</caption>
          <ColumnHeads names={["Delivery", "Event type", "Webhook", "Attempts", "Last answer", "Created", "Action"]} />
          <tbody>
            {deadLetters.data?.deadLetters.map((d) => {
              const last = d.attempts.at(-1);
              return (
                <tr key={d.id} data-delivery={d.id}>
                  <th scope="row">
                    <code>{d.id}</code>
                  </th>
                  <td>{d.eventType}</td>
                  <td>
                    <code>{d.webhookId}</code>
                  </td>
                  <td>{d.attemptCount}</td>
                  <td>{last ? `${last.statusCode || last.error}` : "—"}</td>
                  <td>{when(d.createTime)}</td>
                  <td>
                    <button type="button" onClick={() => replayOne(d.id)} aria-label={`Replay ${d.id}`}>
                      Replay
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {deadLetters.data?.deadLetters.length === 0 && <p>No dead letters match.</p>}
      <h2>Endpoints</h2>
      <ProblemBox problem={endpoints.problem} />
      <label>
        <input type="checkbox" checked={failingOnly} onChange={(e) => setFailingOnly(e.currentTarget.checked)} /> Failing only
      </label>
      <div class="scroll">
        <table>
          <caption>Webhooks of every key, newest first</caption>
          <ColumnHeads names={["Endpoint", "Owner key", "State", "Circuit", "Failures in a row"]} />
          <tbody>
            {endpoints.data?.endpoints.map(({ webhook: h, ownerKeyId }) => (
              <tr key={h!.id} data-endpoint={h!.url}>
                <th scope="row">
                  {h!.url}
                  <div class="hint">{h!.id}</div>
                </th>
                <td>
                  <code>{ownerKeyId}</code>
                </td>
                <td>{!h!.enabled ? `disabled: ${h!.disabledReason}` : h!.paused ? "paused" : "active"}</td>
                <td data-testid="circuit">
                  {h!.circuit?.state}
                  {h!.circuit?.openUntil && <div class="hint">until {when(h!.circuit.openUntil)}</div>}
                </td>
                <td data-testid="failures">{h!.circuit?.consecutiveFailures ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Publish a test event</h2>
      <form class="inline" onSubmit={publish} aria-label="Publish an event">
        <label>
          Type <input name="type" required defaultValue="console.test" />
        </label>
        <label>
          Data (JSON) <input name="data" defaultValue='{"from":"console"}' />
        </label>
        <button type="submit">Publish</button>
      </form>
    </section>
  );
}
