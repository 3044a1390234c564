// Sign-in: the admin key opens the operators' console, an API key the
// consumers' portal. The key is checked with one call before it is kept.
import { useState } from "preact/hooks";
import { gatewayClient } from "../api.js";
import { roleOf, type Session } from "../session.js";
import { ProblemBox } from "../ui/ProblemBox.js";
import { useAction } from "../ui/useCall.js";

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState("");
  const [operator, setOperator] = useState("");
  const { run, problem, busy } = useAction();
  const submit = async (e: Event) => {
    e.preventDefault();
    const session: Session = { key: key.trim(), role: roleOf(key.trim()), operator: operator.trim() };
    const client = gatewayClient(session);
    const ok = await run<unknown>(() => (session.role === "admin" ? client.listFlags({}) : client.getMe({})));
    if (ok) onSignedIn(session);
  };
  return (
    <main class="signin">
      <h1>OneRing console</h1>
      <form onSubmit={submit}>
        <label for="key">Admin key or API key</label>
        <input id="key" type="password" autocomplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        <label for="operator">Your name (operators; recorded with each kill-switch flip)</label>
        <input id="operator" type="text" autocomplete="name" value={operator} onInput={(e) => setOperator(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <p class="hint">The key stays in this tab's session storage and is sent only to this gateway.</p>
      </form>
      <ProblemBox problem={problem} />
    </main>
  );
}
