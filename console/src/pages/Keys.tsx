// API keys: list and filter, create (secret shown once), rotate with a grace
// period, revoke, change tier, toggle canary; usage beside each key's limit.
import { useState } from "preact/hooks";
import type { ApiKey } from "../../../gen/onering/v1/key_pb.js";
import type { Gateway } from "../api.js";
import { ColumnHeads } from "../ui/ColumnHeads.js";
import { Confirm } from "../ui/Confirm.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { SecretOnce } from "../ui/SecretOnce.js";
import { when } from "../ui/format.js";
import { useAction, useCall } from "../ui/useCall.js";

const tiers = ["free", "pro", "enterprise"];

type Pending = { kind: "revoke"; key: ApiKey } | { kind: "rotate"; key: ApiKey };

export function Keys({ client }: { client: Gateway }) {
  const [tier, setTier] = useState("");
  const [canary, setCanary] = useState("");
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const keys = useCall(
    async () => {
      const [list, inventory] = await Promise.all([
        client.listKeys({ pageSize: 100, tier, canary: canary === "" ? undefined : canary === "yes", includeRevoked }),
        client.listApiKeyInventory({ includeRevoked }),
      ]);
      return { list, requests24h: new Map(inventory.keys.map((k) => [k.id, k.requests24h])) };
    },
    [client, tier, canary, includeRevoked],
  );
  const [secret, setSecret] = useState<{ label: string; secret: string; note?: string }>();
  const [pending, setPending] = useState<Pending>();
  const [grace, setGrace] = useState("86400");
  const { run, problem } = useAction();
  const act = async (action: () => Promise<unknown>) => {
    await run(action);
    await keys.reload();
  };

  const create = async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const form = new FormData(formEl);
    const res = await run(() => client.createKey({ name: String(form.get("name")), tier: String(form.get("tier")), canary: form.get("canary") === "on" }));
    if (res) {
      setSecret({ label: `Secret of ${res.key?.name} (${res.key?.id})`, secret: res.secret });
      formEl.reset();
      await keys.reload();
    }
  };
  const confirm = async () => {
    const p = pending!;
    setPending(undefined);
    if (p.kind === "revoke") return act(() => client.revokeKey({ id: p.key.id }));
    const res = await run(() => client.rotateKey({ id: p.key.id, gracePeriodSeconds: BigInt(grace || "0") }));
    if (res) setSecret({ label: `New secret of ${p.key.name}`, secret: res.secret, note: `The old one works until ${when(res.previousSecretExpireTime)}.` });
    await keys.reload();
  };

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <form class="inline" onSubmit={create} aria-label="Create a key">
        <label>
          Name <input name="name" required />
        </label>
        <label>
          Tier{" "}
          <select name="tier">
            {tiers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" name="canary" /> Canary
        </label>
        <button type="submit">Create key</button>
      </form>
      {secret && <SecretOnce {...secret} />}
      <ProblemBox problem={problem ?? keys.problem} />
      <fieldset class="inline">
        <legend>Filter</legend>
        <label>
          Tier{" "}
          <select value={tier} onChange={(e) => setTier(e.currentTarget.value)}>
            <option value="">any</option>
            {tiers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Canary{" "}
          <select value={canary} onChange={(e) => setCanary(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="yes">canary only</option>
            <option value="no">non-canary only</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={includeRevoked} onChange={(e) => setIncludeRevoked(e.currentTarget.checked)} /> Include revoked
        </label>
      </fieldset>
      <div class="scroll">
        <table>
          <caption>Keys</caption>
          <ColumnHeads names={["Name", "Prefix", "Tier", "Canary", "Usage", "Last used", "Actions"]} />
          <tbody>
            {keys.data?.list.keys.map((k) => (
              <tr key={k.id} data-key={k.name} class={k.revokeTime ? "revoked" : ""}>
                <th scope="row">
                  {k.name}
                  <div class="hint">{k.id}</div>
                </th>
                <td>
                  <code>{k.prefix}…</code>
                </td>
                <td>
                  <select aria-label={`Tier of ${k.name}`} value={k.tier} disabled={!!k.revokeTime} onChange={(e) => act(() => client.updateKey({ id: k.id, tier: e.currentTarget.value }))}>
                    {tiers.map((t) => (
                      <option key={t}>{t}</option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" aria-pressed={k.canary} aria-label={`Canary ${k.name}`} disabled={!!k.revokeTime} onClick={() => act(() => client.updateKey({ id: k.id, canary: !k.canary }))}>
                    {k.canary ? "yes" : "no"}
                  </button>
                </td>
                <td>
                  {String(keys.data?.requests24h.get(k.id) ?? 0n)} in 24 h / limit {String(k.rateLimitPerHour)} per hour
                  <div class="hint">{String(k.usageCount)} all time</div>
                </td>
                <td>{when(k.lastUsedTime)}</td>
                <td>
                  {k.revokeTime ? (
                    `revoked ${when(k.revokeTime)}`
                  ) : (
                    <>
                      <button type="button" onClick={() => setPending({ kind: "rotate", key: k })}>
                        Rotate
                      </button>{" "}
                      <button type="button" class="danger" onClick={() => setPending({ kind: "revoke", key: k })}>
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pending && (
        <Confirm
          title={pending.kind === "revoke" ? `Revoke ${pending.key.name}?` : `Rotate ${pending.key.name}?`}
          confirmLabel={pending.kind === "revoke" ? "Revoke" : "Rotate"}
          onConfirm={confirm}
          onCancel={() => setPending(undefined)}
        >
          {pending.kind === "revoke" ? (
            <p>Every gateway refuses this key within a second. This cannot be undone.</p>
          ) : (
            <label>
              Grace period for the old secret (seconds){" "}
              <input type="number" min="0" value={grace} onInput={(e) => setGrace(e.currentTarget.value)} />
            </label>
          )}
        </Confirm>
      )}
    </section>
  );
}
