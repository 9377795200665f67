// Signing in: the person pastes a token; GET /v2/tokens/self checks it before it is kept (sessionStorage only).
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { messageOf } from '../../api';
import { Page } from '../../components/Page';
import { getCurrentApiTokenQueryKey } from '../../generated/@tanstack/react-query.gen';
import { getCurrentApiToken } from '../../generated/sdk.gen';
import { signIn } from '../../session';

export function SignIn({ reason }: { reason: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(reason);
  const [busy, setBusy] = useState(false);
  const queryClient = useQueryClient();
  const id = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const secret = token.trim();
    if (secret === '') {
      setError('Token: paste the secret of an API token (xaat-…) to sign in.');
      return;
    }
    setBusy(true);
    try {
      const { data } = await getCurrentApiToken({ auth: secret, throwOnError: true });
      queryClient.clear();
      queryClient.setQueryData(getCurrentApiTokenQueryKey(), data);
      signIn(secret);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Sign in">
      <form className="card narrow" onSubmit={submit} noValidate>
        <p>
          Paste an API token to manage tokens with it. The console keeps it in this tab only, until you sign
          out or close the tab.
        </p>
        <div className="field">
          <label htmlFor={id}>Token</label>
          <input
            id={id}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            aria-invalid={error === undefined ? undefined : true}
            aria-describedby={error === undefined ? undefined : `${id}-error`}
            onChange={(event) => setToken(event.target.value)}
          />
          {error === undefined ? null : (
            <p className="error" id={`${id}-error`} role="alert">
              {error}
            </p>
          )}
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </Page>
  );
}
