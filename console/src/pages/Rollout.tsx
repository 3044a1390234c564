// Rollout: the four kill switches, the staged-rollout stage they add up to
// (docs/RUNBOOK.md), each flip confirmed, and the audit list of flips.
import { useState } from "preact/hooks";
import type { Flag } from "../../../gen/onering/v1/gateway_pb.js";
import type { Gateway } from "../api.js";
import { ColumnHeads } from "../ui/ColumnHeads.js";
import { Confirm } from "../ui/Confirm.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { when } from "../ui/format.js";
import { useAction, useCall } from "../ui/useCall.js";

type FlagName = "external_api_enabled" | "external_api_canary_only" | "webhooks_enabled" | "webhooks_delivery_enabled";
type FlagSet = Record<FlagName, boolean>;

const stages: { name: string; flags: FlagSet }[] = [
  { name: "1. API on, canary keys only; webhooks off", flags: { external_api_enabled: true, external_api_canary_only: true, webhooks_enabled: false, webhooks_delivery_enabled: false } },
  { name: "2. Webhooks on, delivery off", flags: { external_api_enabled: true, external_api_canary_only: true, webhooks_enabled: true, webhooks_delivery_enabled: false } },
  { name: "3. Delivery on", flags: { external_api_enabled: true, external_api_canary_only: true, webhooks_enabled: true, webhooks_delivery_enabled: true } },
  { name: "4. Canary-only off (general availability)", flags: { external_api_enabled: true, external_api_canary_only: false, webhooks_enabled: true, webhooks_delivery_enabled: true } },
];

const meaning: Record<FlagName, string> = {
  external_api_enabled: "External API (off: 503 EXTERNAL_API_DISABLED)",
  external_api_canary_only: "Canary-only mode (on: non-canary keys get 403 CANARY_ONLY_MODE)",
  webhooks_enabled: "Webhooks (off: subscriptions and publishing get 503)",
  webhooks_delivery_enabled: "Delivery (off: deliveries wait as pending)",
};

function stageOf(flags: Flag[]): string {
  const state = Object.fromEntries(flags.map((f) => [f.name, f.enabled])) as FlagSet;
  if (!state.external_api_enabled) return "External API off";
  const stage = stages.find((s) => (Object.keys(s.flags) as FlagName[]).every((name) => s.flags[name] === state[name]));
  return stage?.name ?? "Between stages (a custom combination)";
}

export function Rollout({ client }: { client: Gateway }) {
  const flags = useCall(() => client.listFlags({}), [client]);
  const audit = useCall(() => client.listFlagChanges({}), [client]);
  // One flip, or the flips that move the mesh to a stage, awaiting confirmation.
  const [pending, setPending] = useState<{ title: string; changes: { name: FlagName; enabled: boolean }[] }>();
  const { run, problem } = useAction();
  const flip = async () => {
    const { changes } = pending!;
    setPending(undefined);
    await run(async () => {
      for (const change of changes) await client.setFlag(change);
    });
    await Promise.all([flags.reload(), audit.reload()]);
  };
  const current = Object.fromEntries((flags.data?.flags ?? []).map((f) => [f.name, f.enabled])) as FlagSet;
  const toStage = (stage: (typeof stages)[number]) =>
    setPending({
      title: `Move to stage ${stage.name}?`,
      changes: (Object.keys(stage.flags) as FlagName[]).filter((n) => stage.flags[n] !== current[n]).map((name) => ({ name, enabled: stage.flags[name] })),
    });
  return (
    <section aria-labelledby="rollout-title">
      <h1 id="rollout-title">Rollout</h1>
      <ProblemBox problem={flags.problem ?? problem} />
      {flags.data && (
        <>
          <p class="stage" data-testid="stage">
            Current stage: <strong>{stageOf(flags.data.flags)}</strong>
          </p>
          <table>
            <caption>Kill switches (take effect across the mesh within a second)</caption>
            <ColumnHeads names={["Flag", "State", "Last change", "Action"]} />
            <tbody>
              {flags.data.flags.map((f) => (
                <tr key={f.name} data-flag={f.name}>
                  <th scope="row">
                    <code>{f.name}</code>
                    <div class="hint">{meaning[f.name as FlagName]}</div>
                  </th>
                  <td class={f.enabled ? "on" : "off"}>{f.enabled ? "on" : "off"}</td>
                  <td>{f.updatedBy ? `${when(f.updateTime)} by ${f.updatedBy}` : "start-up default"}</td>
                  <td>
                    <button type="button" onClick={() => setPending({ title: `Turn ${f.name} ${f.enabled ? "off" : "on"}?`, changes: [{ name: f.name as FlagName, enabled: !f.enabled }] })}>
                      Turn {f.enabled ? "off" : "on"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Stages</h2>
      <ul class="stages">
        {stages.map((s) => (
          <li key={s.name} data-stage={s.name}>
            <strong>{s.name}</strong>
            <div class="hint">{(Object.keys(s.flags) as FlagName[]).map((n) => `${n}=${s.flags[n] ? "on" : "off"}`).join(", ")}</div>
            <button type="button" disabled={!flags.data || stageOf(flags.data.flags) === s.name} onClick={() => toStage(s)}>
              Move to this stage
            </button>
          </li>
        ))}
      </ul>
      <h2>Audit</h2>
      <ProblemBox problem={audit.problem} />
      <table data-testid="audit">
        <caption>Kill-switch flips, newest first</caption>
        <ColumnHeads names={["When", "Flag", "Set to", "By"]} />
        <tbody>
          {audit.data?.changes.map((c, i) => (
            <tr key={i}>
              <td>{when(c.updateTime)}</td>
              <td>
                <code>{c.name}</code>
              </td>
              <td>{c.enabled ? "on" : "off"}</td>
              <td>{c.updatedBy}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pending && (
        <Confirm title={pending.title} confirmLabel={pending.changes.length === 1 ? `Turn ${pending.changes[0]!.enabled ? "on" : "off"}` : "Apply"} onConfirm={flip} onCancel={() => setPending(undefined)}>
          <ul>
            {pending.changes.map((c) => (
              <li key={c.name}>
                <code>{c.name}</code> → {c.enabled ? "on" : "off"}: {meaning[c.name]}
              </li>
            ))}
          </ul>
          <p>This applies to every process of the mesh within a second and is recorded in the audit list.</p>
        </Confirm>
      )}
    </section>
  );
}
