// The signed-in key lives in sessionStorage only: gone when the tab closes,
// never in a URL, a cookie or a log.
const storageKey = "onering.session";

export type Role = "admin" | "consumer";

export interface Session {
  key: string;
  role: Role;
  /** The operator's name for the flag audit list (admin only, optional). */
  operator: string;
}

export function loadSession(): Session | undefined {
  const raw = sessionStorage.getItem(storageKey);
  return raw ? (JSON.parse(raw) as Session) : undefined;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(storageKey, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(storageKey);
}

/** API keys have a fixed prefix (services/shared/apiKeyFormat.ts); anything else is tried as the admin key. */
export const roleOf = (key: string): Role => (/^sk_(live|test)_/.test(key) ? "consumer" : "admin");
