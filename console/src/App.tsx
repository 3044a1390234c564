// The console's shell: sign-in, then the pages of the signed-in role, chosen
// by the URL's fragment (no key ever goes into the URL).
import type { FunctionComponent } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { gatewayClient, type Gateway } from "./api.js";
import { Keys } from "./pages/Keys.js";
import { MyKey } from "./pages/MyKey.js";
import { MyWebhooks } from "./pages/MyWebhooks.js";
import { Overview } from "./pages/Overview.js";
import { Rollout } from "./pages/Rollout.js";
import { SignIn } from "./pages/SignIn.js";
import { Webhooks } from "./pages/Webhooks.js";
import { clearSession, loadSession, saveSession, type Role, type Session } from "./session.js";

interface Page {
  path: string;
  title: string;
  component: FunctionComponent<{ client: Gateway }>;
}

const pages: Record<Role, Page[]> = {
  admin: [
    { path: "overview", title: "Overview", component: Overview },
    { path: "rollout", title: "Rollout", component: Rollout },
    { path: "keys", title: "Keys", component: Keys },
    { path: "webhooks", title: "Webhooks", component: Webhooks },
  ],
  consumer: [
    { path: "me", title: "My key", component: MyKey },
    { path: "my-webhooks", title: "My webhooks", component: MyWebhooks },
  ],
};

function useFragment(): string {
  const [fragment, setFragment] = useState(location.hash.slice(1));
  useEffect(() => {
    const update = () => setFragment(location.hash.slice(1));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return fragment;
}

export function App() {
  const [session, setSession] = useState(loadSession);
  const fragment = useFragment();
  const client = useMemo(() => session && gatewayClient(session), [session]);
  if (!session || !client) {
    const signedIn = (s: Session) => {
      saveSession(s);
      location.hash = pages[s.role][0]!.path;
      setSession(s);
    };
    return <SignIn onSignedIn={signedIn} />;
  }
  const signOut = () => {
    clearSession();
    setSession(undefined);
  };
  const available = pages[session.role];
  const page = available.find((p) => p.path === fragment) ?? available[0]!;
  const Component = page.component;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">OneRing {session.role === "admin" ? "operators' console" : "portal"}</span>
        <nav aria-label="Pages">
          {available.map((p) => (
            <a key={p.path} href={`#${p.path}`} aria-current={p === page ? "page" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Component key={page.path} client={client} />
      </main>
    </>
  );
}
