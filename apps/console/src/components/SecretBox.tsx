// A new secret, shown once: a read-only field with a "Copy" button; leaving asks first until it was copied.
import { useId, useRef, useState } from 'react';
import { useLeaveConfirmation } from '../router';

export function SecretBox({ secret }: { secret: string }) {
  const [copied, setCopied] = useState(false);
  const [failed, setFailed] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  const id = useId();
  useLeaveConfirmation(!copied, 'The secret has not been copied. It is shown once: leave anyway?');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
      setFailed(false);
    } catch {
      // No clipboard (an insecure origin, a refused permission): select it for the person to copy.
      field.current?.select();
      setFailed(true);
    }
  };

  return (
    <section className="secret" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>The new secret</h2>
      <p>
        This secret is <strong>shown once</strong>: copy it now and keep it safe. It cannot be read back.
      </p>
      <div className="secret-row">
        <label htmlFor={id} className="visually-hidden">
          Secret
        </label>
        <input
          id={id}
          ref={field}
          readOnly
          value={secret}
          spellCheck={false}
          autoComplete="off"
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" className="hint">
        {copied
          ? 'Copied to the clipboard.'
          : failed
            ? 'Copying failed: the secret is selected, copy it with your keyboard.'
            : ''}
      </p>
    </section>
  );
}
