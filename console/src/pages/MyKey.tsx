// Consumers: their key's tier, limit, usage and when the window resets.
import type { Gateway } from "../api.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { unixTime } from "../ui/format.js";
import { useCall } from "../ui/useCall.js";

export function MyKey({ client }: { client: Gateway }) {
  const { data, problem } = useCall(() => client.getMe({}), [client], 5000);
  return (
    <section aria-labelledby="me-title">
      <h1 id="me-title">My key</h1>
      <ProblemBox problem={problem} />
      {data && (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{data.name}</dd>
          <dt>Key id</dt>
          <dd>
            <code>{data.id}</code>
          </dd>
          <dt>Tier</dt>
          <dd data-testid="tier">
            {data.tier}
            {data.canary && " (canary)"}
          </dd>
          <dt>Limit</dt>
          <dd>{String(data.limit)} requests per hour</dd>
          <dt>Remaining this window</dt>
          <dd>
            <meter min={0} max={Number(data.limit)} value={Number(data.remaining)} aria-label="Remaining requests" /> {String(data.remaining)}
          </dd>
          <dt>Window resets</dt>
          <dd>{unixTime(data.reset)}</dd>
          <dt>Requests, all time</dt>
          <dd>{String(data.usageCount)}</dd>
        </dl>
      )}
    </section>
  );
}
