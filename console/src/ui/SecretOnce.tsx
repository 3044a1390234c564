// A secret the API returns once (new key, rotated key or webhook secret):
// shown with a copy button and a warning that it will not be shown again.
import { useState } from "preact/hooks";

export function SecretOnce({ label, secret, note }: { label: string; secret: string; note?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  return (
    <div class="secret" role="status">
      <p>
        <strong>{label}</strong>: copy it now, it is shown only once. {note}
      </p>
      <code data-testid="secret">{secret}</code>{" "}
      <button type="button" onClick={copy}>
        {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}
